"""Let a ${...} expression stand wherever a variable may in schemas/stack.schema.json (idempotent).

Editors (yaml-language-server) validate the stack file as written, so `count: "${var.workers}"` must
be valid where the schema wants an integer. This adds `{"$ref": "#/$defs/expression"}` as an `anyOf`
alternative to every number, integer and boolean field, and every string field with a pattern, enum,
const or format, outside `version`, `stack`, `variables`, `outputs` and `backend` (which are not
interpolated). vastplan itself checks the substituted document without the alternative
(vastplan/stack/schema.py). Run it after adding fields or a kind to the schema:
tests/unit/test_schema_expressions.py fails until every such field takes an expression.

    python .ci/schema-expressions.py [schemas/stack.schema.json]
"""
import json
import sys
from pathlib import Path

P = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1] / "schemas" / "stack.schema.json")
t = Path(P).read_text()
d = json.loads(t)
REF = {"$ref": "#/$defs/expression"}
ANNOT = ("description", "default", "title", "examples")
SKIP_TOP = {"version", "stack", "variables", "outputs", "backend"}

def needs(n):
    if not isinstance(n, dict) or "$ref" in n:
        return False
    t = n.get("type")
    types = [t] if isinstance(t, str) else (t or [])
    if any(x in ("number", "integer", "boolean") for x in types) and "string" not in types:
        return True
    if types == ["string"] and any(k in n for k in ("enum", "pattern", "const", "format")):
        return True
    return t is None and ("enum" in n or "const" in n)

def wrap(n):
    out = {k: n[k] for k in ANNOT if k in n}
    inner = {k: v for k, v in n.items() if k not in ANNOT}
    out["anyOf"] = [inner, REF]
    return out

def walk(n, top=None):
    if isinstance(n, dict):
        for key in ("anyOf", "oneOf"):
            if key in n:
                branches = n[key]
                if any(needs(b) for b in branches) and REF not in branches:
                    branches.append(REF)
                for b in branches:
                    walk(b)
        for key in ("properties", "patternProperties", "$defs"):
            if key in n:
                for name, sub in list(n[key].items()):
                    if key == "$defs" and name == "expression":
                        continue
                    if n is d and key == "properties" and name in SKIP_TOP:
                        continue
                    if needs(sub):
                        n[key][name] = wrap(sub)
                    else:
                        walk(sub)
        for key in ("items", "additionalProperties"):
            if key in n and isinstance(n[key], dict):
                if needs(n[key]):
                    n[key] = wrap(n[key])
                else:
                    walk(n[key])

walk(d)
d["$defs"] = {"expression": {
    "type": "string",
    "pattern": "\\$\\{[^}]*\\}",
    "description": "A ${...} expression, such as \"${var.workers}\", standing for a value: "
                   "checked once the variable is substituted.",
}, **{k: v for k, v in d["$defs"].items() if k != "expression"}}
o = json.dumps(d, indent=2, ensure_ascii=False) + "\n"
o = o.replace('''      "oneOf": [
        {
          "required": [
            "url"
          ]
        },
        {
          "required": [
            "url_from_env"
          ]
        }
      ],''', '''      "oneOf": [{"required": ["url"]}, {"required": ["url_from_env"]}],''')
Path(P).write_text(o)
