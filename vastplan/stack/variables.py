"""Input variables: their declared types, the value each ends up with (default < --var-file <
--var), and ``${var.NAME}`` interpolation into the rest of the stack.

``${`` followed by anything that is not a vastplan reference (``${HOME}``, ``${MODEL:-x}``) is left
alone so shell in ``onstart`` keeps working; ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vastplan.diagnostics import Diagnostic
from vastplan.stack.reader import Document, YPath
from vastplan.stack.refs import EXPR, RESOURCE_ROOTS
from vastplan.stack.words import did_you_mean, show

TYPES = ("string", "number", "bool")
_TYPE_OF = {bool: "bool", int: "number", float: "number", str: "string"}
_VAR_REF = re.compile(r"\s*var\.([A-Za-z_][A-Za-z0-9_]*)\s*")
_WORKSPACE_REF = re.compile(r"(?<!\$)\$\{\s*workspace\s*\}")
_EXACTLY_ONE_VAR = re.compile(r"\$\{\s*var\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
# First words that mark a ${...} as meant for vastplan rather than for a shell.
_RESERVED_ROOTS = frozenset({"var", "vars", "variables", "count", "self", "local", "locals", "workspace",
                             *RESOURCE_ROOTS})


ENV_PREFIX = "VASTPLAN_VAR_"

@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    has_value: bool = False
    value: Any = None
    sensitive: bool = False


def _declared_type(decl: Mapping[str, Any]) -> str:
    if decl.get("type") in TYPES:
        return str(decl["type"])
    return _TYPE_OF.get(type(decl.get("default")), "string")


def coerce(value: Any, type_: str) -> tuple[Any, str]:
    """``value`` (from --var text or a var file) as ``type_``; a problem sentence if it is not one."""
    if isinstance(value, (dict, list)) or value is None:
        return None, f"expected a {type_}, got {show(value)}"
    if type_ == "string":
        return (show(value) if isinstance(value, bool) else str(value)), ""
    if type_ == "bool":
        if isinstance(value, bool):
            return value, ""
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true", ""
        return None, f"{show(value)} is not true or false"
    number: int | float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text) if re.fullmatch(r"[-+]?[0-9]+", text) else float(text)
        except ValueError:
            number = None
    if number is None:
        return None, f"{show(value)} is not a number"
    if not _finite(number):
        return None, f"{show(value)} is not a finite number (at most about 1.8e308 either way)"
    return number, ""


def _finite(number: int | float) -> bool:
    """NaN and infinity (``nan``, ``inf``, ``1e400``) compare false against every limit, and an integer
    too large for a float breaks every price computation: neither is a usable number."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def interpolation_in(value: Any) -> str | None:
    """The first ``${...}`` in ``value`` that vastplan would read as a reference, or None. Values of
    variables are taken as written, so such text would reach the API literally."""
    if not isinstance(value, str):
        return None
    for m in EXPR.finditer(value):
        if m.group(1) is not None and m.group(1).strip().split(".", 1)[0].split("[", 1)[0] in _RESERVED_ROOTS:
            return m.group(0)
    return None


@dataclass
class VariableSet:
    """Declared variables and their values, gathered with every problem found on the way."""

    doc: Document
    variables: dict[str, Variable] = field(default_factory=dict)
    diags: list[Diagnostic] = field(default_factory=list)
    workspace: str = "default"

    def declare(self) -> None:
        decls = self.doc.data.get("variables") if isinstance(self.doc.data, dict) else None
        for name, decl in (decls if isinstance(decls, dict) else {}).items():
            decl = decl if isinstance(decl, dict) else {}
            type_ = _declared_type(decl)
            var = Variable(name, type_, sensitive=decl.get("sensitive") is True)
            if "default" in decl:
                if isinstance(decl["default"], str):  # the one reference a default may hold
                    decl = {**decl, "default": _WORKSPACE_REF.sub(lambda m: self.workspace, decl["default"])}
                value, problem = coerce(decl["default"], type_)
                if not problem and (ref := interpolation_in(decl["default"])):
                    problem = f"refers to {ref}, but defaults are not interpolated; write the value itself"
                if problem and not isinstance(decl["default"], (dict, list)):
                    where = ("variables", name, "default")
                    self.diags.append(self.doc.diag(where, f"the default {problem} (declared type {type_})"))
                elif not problem:
                    var = Variable(name, type_, True, value, var.sensitive)
            self.variables[name] = var

    def assign(self, name: str, value: Any, source: Document | None, where: YPath, origin: str | None = None) -> None:
        """Give ``name`` a value from a var file (``source``) or from --var (``source`` None; ``origin``
        names another place in the error, such as an environment variable)."""
        doc = source or self.doc
        origin = f"{origin}: " if origin else "" if source else f'--var "{name}": '
        if name not in self.variables:
            text = f'{origin}no variable named "{name}" is declared{did_you_mean(name, self.variables)}'
            self.diags.append(doc.diag(where, text, key=True, address=("variables",)))
            return
        var = self.variables[name]
        coerced, problem = coerce(value, var.type)
        if not problem and (ref := interpolation_in(value)):
            problem = f"the value refers to {ref}, but values of variables are not interpolated"
        if problem:
            shown = "(sensitive value)" if var.sensitive else None
            text = f"{origin}{problem.replace(show(value), shown) if shown else problem}"
            self.diags.append(doc.diag(where, text, key=source is None, address=("variables", name)))
            return
        self.variables[name] = Variable(name, var.type, True, coerced, var.sensitive)

    def assign_file(self, source: Document) -> None:
        if source.data is None:
            return
        if not isinstance(source.data, dict):
            self.diags.append(source.file_diag("a var file must be a mapping of variable names to values"))
            return
        for name, value in source.data.items():
            self.assign(name, value, source, (name,))

    def assign_flags(self, given: Mapping[str, str]) -> None:
        for name, value in given.items():
            declared = ("variables", name) if name in self.variables else ("variables",)
            self.assign(name, value, None, declared)


    def assign_environment(self, environ: Mapping[str, str]) -> None:
        """``VASTPLAN_VAR_name`` (Terraform's ``TF_VAR_name``) for each declared variable; others are ignored."""
        for name in list(self.variables):
            if (value := environ.get(f"{ENV_PREFIX}{name}")) is not None:
                self.assign(name, value, None, ("variables", name), origin=f"{ENV_PREFIX}{name}")


def gather(doc: Document, var_docs: Sequence[Document], given: Mapping[str, str],
           workspace: str = "default", environ: Mapping[str, str] | None = None) -> VariableSet:
    """Variables with their final values: default (where ``${workspace}`` may stand) < ``VASTPLAN_VAR_name``
    in ``environ`` < each --var-file in order < --var."""
    found = VariableSet(doc, workspace=workspace)
    found.declare()
    found.assign_environment(environ or {})
    for source in var_docs:
        found.assign_file(source)
    found.assign_flags(given)
    return found


def _verbatim(top_level_key: str) -> bool:
    return top_level_key == "variables" or top_level_key.startswith("x-")


@dataclass
class Interpolator:
    """Substitutes ``${var.NAME}`` (and ``${workspace}``) through a document, noting where sensitive
    values land."""

    doc: Document
    variables: Mapping[str, Variable]
    workspace: str = "default"
    diags: list[Diagnostic] = field(default_factory=list)
    sensitive: set[YPath] = field(default_factory=set)

    def document(self, data: Any) -> Any:
        """``data`` with every string outside ``variables:`` and ``x-`` extension fields interpolated;
        outputs keep their resource references."""
        if not isinstance(data, dict):
            return data
        return {k: (v if _verbatim(k) else self.walk(v, (k,), k == "outputs")) for k, v in data.items()}

    def walk(self, value: Any, path: YPath, in_outputs: bool) -> Any:
        if isinstance(value, dict):
            return {k: self.walk(v, (*path, k), in_outputs) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, (*path, i), in_outputs) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self.string(value, path, in_outputs)
        return value

    def string(self, text: str, path: YPath, in_outputs: bool) -> Any:
        whole = _EXACTLY_ONE_VAR.fullmatch(text)
        if whole and not in_outputs:  # an output value stays text
            var = self._lookup(whole.group(1), path)
            return var.value if var else text
        return EXPR.sub(lambda m: self._replace(m, path, in_outputs), text)

    def _replace(self, match: re.Match[str], path: YPath, in_outputs: bool) -> str:
        expr = match.group(1)
        if expr is None:  # "$${": an escaped "${"
            return match.group(0) if in_outputs else "${"
        if expr.strip() == "workspace" and not in_outputs:
            return self.workspace
        ref = _VAR_REF.fullmatch(expr)
        if ref:
            var = self._lookup(ref.group(1), path)
            return match.group(0) if var is None else coerce(var.value, "string")[0]
        root = expr.strip().split(".", 1)[0].split("[", 1)[0]
        if root in ("var", "vars", "variables"):
            self.diags.append(self.doc.diag(path, f"bad variable reference {match.group(0)} (write ${{var.NAME}})"))
        elif root in RESOURCE_ROOTS and not in_outputs:
            text = f"{match.group(0)}: resources can be referred to only in outputs"
            self.diags.append(self.doc.diag(path, text))
        elif root in _RESERVED_ROOTS and not in_outputs:
            self.diags.append(self.doc.diag(path, f"unknown reference {match.group(0)}"))
        return match.group(0)

    def _lookup(self, name: str, path: YPath) -> Variable | None:
        var = self.variables.get(name)
        if var is None:
            text = f'unknown variable "{name}"{did_you_mean(name, self.variables)}'
            self.diags.append(self.doc.diag(path, text))
            return None
        if not var.has_value:
            text = f'variable "{name}" has no value: give it a default, --var {name}=..., or a --var-file'
            self.diags.append(self.doc.diag(path, text))
            return None
        if var.sensitive:
            self.sensitive.add(path)
        return var
