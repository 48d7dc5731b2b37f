"""Checking a stack document against ``schemas/stack.schema.json``, reported in the user's words.

jsonschema's own messages are Python reprs (``'abc' is not of type 'integer'``) and give up on
``anyOf`` (``is not valid under any of the given schemas``); this module rewrites each error into a
sentence, picks the alternative the user evidently meant, and places it on the key or value it is
about. A subschema may carry ``x-message`` (with ``{value}`` standing for the offending value) to
say in its own words what a pattern, type or combination demands.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vastplan.diagnostics import Diagnostic
from vastplan.stack.reader import Document, YPath
from vastplan.stack.words import did_you_mean, show

if TYPE_CHECKING:
    from jsonschema import Validator
    from jsonschema.exceptions import ValidationError

_SCHEMA_NAME = "stack.schema.json"
# Keywords whose failure the x-message beside them explains better than a generic sentence.
_X_MESSAGE_FOR = frozenset({"pattern", "type", "minProperties", "anyOf", "oneOf", "not", "const", "format"})
_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true/false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def schema_path(name: str = _SCHEMA_NAME) -> Path:
    """Where a schema (the stack's by default) is: shipped inside the wheel, else in the source tree."""
    # the wheel puts schemas/ inside the package (pyproject's force-include); importlib.resources would
    # say the same for an installed package, at the cost of importing zipfile, tempfile and shutil
    shipped = Path(__file__).resolve().parents[1] / "schemas" / name
    return shipped if shipped.is_file() else Path(__file__).resolve().parents[2] / "schemas" / name


def schema_text(name: str = _SCHEMA_NAME) -> str:
    """A schema (the stack's by default), as ``schema_path`` finds it."""
    return schema_path(name).read_text("utf-8")


@functools.cache
def _schema(name: str = _SCHEMA_NAME) -> dict[str, Any]:
    loaded: dict[str, Any] = _without_expressions(json.loads(schema_text(name)))
    return loaded


_EXPRESSION = {"$ref": "#/$defs/expression"}
_ANNOTATIONS = frozenset({"description", "default", "title", "examples"})


def _without_expressions(node: Any) -> Any:
    """The schema as vastplan checks a stack: without the ``${...}`` alternative editors need.

    An editor sees the file as written, where ``count: "${var.workers}"`` stands for a number, so the
    schema lets an expression stand wherever a variable may (``anyOf: [..., {$ref: expression}]``).
    vastplan checks the document after substituting the variables, where an expression left over is a
    mistake; dropping the alternative (and an ``anyOf`` it leaves with one branch) gives back the
    plain field, and with it the plain message ("-4 is less than the minimum of 1").
    """
    if isinstance(node, list):
        return [_without_expressions(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _without_expressions(value) for key, value in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and _EXPRESSION in branches:
        branches = [branch for branch in branches if branch != _EXPRESSION]
        if len(branches) == 1 and isinstance(branches[0], dict) and set(out) - {"anyOf"} <= _ANNOTATIONS:
            del out["anyOf"]
            return {**out, **branches[0]}
        out["anyOf"] = branches
    return out


@functools.cache
def strict_validator(name: str = _SCHEMA_NAME) -> Validator:
    """A validator for one of ``schemas/``, where an integer is an ``int`` and a number is finite."""
    # Imported here: jsonschema is slow to import and only loading a stack (or state) needs it.
    from jsonschema import Draft202012Validator, validators

    # JSON Schema counts 100.0 as an integer and NaN as a number; a stack must not (count: 1e2
    # rented 100 instances, a NaN budget compared false against every limit).
    checker = Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number})
    strict = validators.extend(Draft202012Validator, type_checker=checker)
    return strict(_schema(name))


def _is_integer(checker: object, value: object) -> bool:
    return isinstance(value, int) and _is_number(checker, value)


def _is_number(_checker: object, value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer no float can hold: no price or size is that large
        return False


def kind_fields(definition: str) -> frozenset[str]:
    """The fields the schema allows in one kind's block (``$defs.instance``), for output references."""
    return frozenset(_schema()["$defs"][definition].get("properties", {}))


def check_schema(doc: Document, hidden: frozenset[YPath] = frozenset()) -> list[Diagnostic]:
    """Every schema violation in ``doc.data``; values at ``hidden`` paths are never quoted."""
    explainer = _Explainer(doc, hidden)
    return [d for error in strict_validator().iter_errors(doc.data) for d in explainer.explain(error)]


def check_schema_cached(doc: Document, hidden: frozenset[YPath], cache: Path | None) -> list[Diagnostic]:
    """``check_schema``, skipped when ``cache`` holds the digest of a document that passed before.

    The digest covers what the verdict depends on: the document as resolved (the file's bytes after
    variables, so a ``--var`` that breaks the schema is checked too), the schema and this module's
    code. Only a pass is recorded, so a cached answer can only ever be "no problems" for the very
    same input; a missing, unreadable or stale cache just means checking again. Writing it is best
    effort: a read-only folder costs the check, never the command."""
    if cache is None:
        return check_schema(doc, hidden)
    digest = _document_digest(doc.data)
    if digest is not None and passed_before(cache, digest):
        return []
    found = check_schema(doc, hidden)
    if not found and digest is not None:
        record_pass(cache, digest)
    return found


def _document_digest(data: Any) -> str | None:
    try:  # JSON keeps 1, 1.0 and true apart, as the schema's types do
        text = json.dumps(data, ensure_ascii=False, allow_nan=True, default=_refuse)
    except (TypeError, ValueError):
        return None  # a value JSON cannot write: check it every time
    return schema_digest(_SCHEMA_NAME, text.encode("utf-8", "surrogatepass"))


def schema_digest(name: str, content: bytes, *checker: Path) -> str:
    """The digest a schema verdict on ``content`` depends on: the content, the schema ``name``, the
    code that checks it (this module and any ``checker`` files) and vastplan's version."""
    from vastplan import __version__

    hashed = hashlib.sha256(f"vastplan {__version__}\0".encode())
    for part in (schema_path(name).read_bytes(), Path(__file__).read_bytes(), *(p.read_bytes() for p in checker),
                 content):
        hashed.update(len(part).to_bytes(8, "big"))
        hashed.update(part)
    return hashed.hexdigest()


def passed_before(cache: Path, digest: str) -> bool:
    """Whether ``cache`` records a pass of exactly ``digest`` (a missing or damaged cache: no)."""
    try:
        return cache.read_text("ascii").strip() == digest
    except (OSError, ValueError):
        return False


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def record_pass(cache: Path, digest: str) -> None:
    """Record that ``digest`` passed; best effort (atomic, 0600; an unwritable place is no error)."""
    temp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(digest + "\n")
        os.replace(temp, cache)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()


class _Explainer:
    def __init__(self, doc: Document, hidden: frozenset[YPath]):
        self.doc = doc
        self.hidden = hidden

    def explain(self, error: ValidationError) -> Iterator[Diagnostic]:
        path: YPath = tuple(error.absolute_path)
        kw = str(error.validator)
        x_message = error.schema.get("x-message") if isinstance(error.schema, dict) else None
        schema_path = list(error.absolute_schema_path)
        if len(schema_path) >= 2 and schema_path[-2] == "propertyNames":
            yield self._name_error(error, path, x_message)
        elif x_message and kw in _X_MESSAGE_FOR:
            text = x_message.replace("{value}", self.show(path, error.instance))
            yield self.doc.diag(path, text, key=isinstance(error.instance, dict))
        elif kw in ("anyOf", "oneOf"):
            yield from self._alternatives(error, path)
        elif kw == "additionalProperties":
            yield from self._unknown_fields(error, path)
        elif kw == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                yield self.doc.diag(path, f'missing required field "{name}"', key=True)
        elif kw == "uniqueItems":
            yield from self._duplicates(error, path)
        else:
            yield self.doc.diag(path, self._sentence(error, path), key=isinstance(error.instance, dict))

    def show(self, path: YPath, value: Any) -> str:
        return "(sensitive value)" if path in self.hidden else show(value)

    def _name_error(self, error: ValidationError, path: YPath, x_message: str | None) -> Diagnostic:
        name = error.instance
        text = (x_message or "{value} is not a valid name").replace("{value}", show(name))
        return self.doc.diag((*path, name), text, key=True)

    def _sentence(self, error: ValidationError, path: YPath) -> str:
        kw, limit, value = str(error.validator), error.validator_value, error.instance
        shown = self.show(path, value)
        if kw == "type":
            return _type_sentence(shown, value, [limit] if isinstance(limit, str) else limit)
        sentences = {
            "minimum": f"{shown} is less than the minimum of {limit}",
            "maximum": f"{shown} is greater than the maximum of {limit}",
            "exclusiveMinimum": f"{shown} must be greater than {limit}",
            "exclusiveMaximum": f"{shown} must be less than {limit}",
            "const": f"expected {show(limit)}, got {shown}",
            "minLength": "must not be empty" if limit == 1 else f"must be at least {limit} characters long",
            "maxLength": f"is longer than {limit} characters",
            "minItems": "must not be empty" if limit == 1 else f"needs at least {limit} items",
            "maxItems": f"has more than {limit} items",
            "minProperties": "must not be empty",
            "pattern": f"{shown} does not match {limit}",
            "not": "is not allowed here",
        }
        if kw == "enum":
            choices = [show(c) if not isinstance(c, str) else c for c in limit]
            return f"{shown} is not one of: {', '.join(choices)}{did_you_mean(value, choices)}"
        return sentences.get(kw, error.message)

    def _alternatives(self, error: ValidationError, path: YPath) -> Iterator[Diagnostic]:
        """Explain the alternative whose type matched; if none did, say which types would do."""
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context or ():
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        fitting = [errs for errs in branches.values() if not any(_is_top_type_error(e) for e in errs)]
        if fitting:
            for sub in min(fitting, key=len):
                yield from self.explain(sub)
            return
        wanted = [t for errs in branches.values() for e in errs if _is_top_type_error(e) for t in _types(e)]
        if wanted:
            yield self.doc.diag(path, _type_sentence(self.show(path, error.instance), error.instance, wanted))
        else:
            yield self.doc.diag(path, error.message, key=isinstance(error.instance, dict))

    def _unknown_fields(self, error: ValidationError, path: YPath) -> Iterator[Diagnostic]:
        known = list(error.schema.get("properties", {}))
        for name in error.instance:
            if name not in known:
                text = f'unknown field "{name}"{did_you_mean(name, known)}'
                yield self.doc.diag((*path, name), text, key=True)

    def _duplicates(self, error: ValidationError, path: YPath) -> Iterator[Diagnostic]:
        seen: list[Any] = []
        for i, item in enumerate(error.instance):
            if item in seen:
                yield self.doc.diag((*path, i), f"duplicate item {self.show((*path, i), item)}")
            seen.append(item)


def _is_top_type_error(error: ValidationError) -> bool:
    return error.validator == "type" and not error.relative_path


def _types(error: ValidationError) -> list[str]:
    value = error.validator_value
    return [value] if isinstance(value, str) else list(value)


def _type_sentence(shown: str, value: Any, types: Iterable[str]) -> str:
    words = list(dict.fromkeys(_TYPE_WORDS.get(t, t) for t in types))
    wanted = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    if isinstance(value, (dict, list)):
        return f"expected {wanted}, got {shown}"
    return f"{shown} is not {wanted}"
