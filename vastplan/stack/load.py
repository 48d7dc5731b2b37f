"""Loading a stack file: YAML with positions, schema, variables, references, resolution.

``load_stack`` is the one entry point; it never touches the network and raises ``StackError``
carrying every problem found, each placed at ``FILE:LINE:COL``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from vastplan.diagnostics import Diagnostic, SourceRange
from vastplan.errors import StackError
from vastplan.stack.model import Stack
from vastplan.stack.reader import Document, load_yaml_file
from vastplan.stack.resolve import resolve
from vastplan.stack.schema import check_schema_cached
from vastplan.stack.variables import Interpolator, gather
from vastplan.stack.words import show

__all__ = ["load_stack", "load_var_file"]


def load_stack(
    path: str | Path,
    variables: Mapping[str, str] = {},  # noqa: B006 - read only
    var_files: Sequence[str | Path] = (),
    workspace: str = "default",
    environ: Mapping[str, str] | None = None,
    schema_cache: Path | None = None,
) -> Stack:
    """Read, check and resolve the stack at ``path``.

    ``variables`` are ``--var`` values (text, coerced to each variable's declared type);
    ``var_files`` are ``--var-file`` YAML mappings, applied in order before ``variables``;
    ``workspace`` is what ``${workspace}`` says; ``environ``'s ``VASTPLAN_VAR_name`` values come before
    the var files. ``schema_cache`` is where the digest of the last document that passed the
    schema is kept (``check_schema_cached``); None checks every time.
    """
    try:
        stack, diags = _load(Path(path), variables, var_files, workspace, environ or {}, schema_cache)
    except Exception as exc:  # the last line of defence: any input ends as a StackError
        summary = f"internal error while loading the stack ({type(exc).__name__}: {exc}); please report it"
        raise StackError([Diagnostic(summary, range=SourceRange(str(path), 1, 1))]) from exc
    if diags or stack is None:
        raise StackError(sorted(set(diags), key=Diagnostic.sort_key))
    return stack


def load_var_file(path: str | Path) -> tuple[Document, list[Diagnostic]]:
    """A ``--var-file``: a YAML mapping of variable names to values (checked when applied)."""
    return load_yaml_file(path)


def _load(
    path: Path, given: Mapping[str, str], var_files: Sequence[str | Path], workspace: str,
    environ: Mapping[str, str], schema_cache: Path | None = None,
) -> tuple[Stack | None, list[Diagnostic]]:
    doc, diags = load_yaml_file(path)
    if not diags and doc.data is None:
        diags.append(doc.file_diag("the file is empty; a stack needs at least version: 1 and stack: NAME"))
    elif not diags and not isinstance(doc.data, dict):
        diags.append(doc.file_diag(f"the top level must be a mapping (version: 1, stack: ...), not {show(doc.data)}"))
    if diags:
        return None, diags
    var_docs = []
    for var_file in var_files:
        var_doc, var_diags = load_var_file(var_file)
        var_docs.append(var_doc)
        diags += var_diags
    found = gather(doc, var_docs, given, workspace, environ)
    interpolator = Interpolator(doc, found.variables, workspace=workspace)
    resolved = replace(doc, data=interpolator.document(doc.data))
    hidden = frozenset(interpolator.sensitive)
    diags += found.diags + interpolator.diags + check_schema_cached(resolved, hidden, schema_cache)
    stack, problems = resolve(resolved, hidden)
    if stack is not None:
        stack = replace(stack, sensitive_variables=frozenset(n for n, v in found.variables.items() if v.sensitive),
                        workspace=workspace)
    return stack, diags + problems
