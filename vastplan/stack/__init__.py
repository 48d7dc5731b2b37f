"""The stack file: load it, check it, resolve it into a ``Stack``.

``load_stack`` is the one entry point; it never touches the network and raises ``StackError``
carrying every problem found, each placed at ``FILE:LINE:COL``. Importing this package is cheap:
the YAML and JSON Schema machinery loads on the first ``load_stack`` call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from vastplan.stack.model import Budget, Lifecycle, OutputSpec, ResourceSpec, Stack

__all__ = [
    "Budget",
    "Lifecycle",
    "OutputSpec",
    "ResourceSpec",
    "Stack",
    "load_stack",
]


def load_stack(
    path: str | Path,
    variables: Mapping[str, str] = {},  # noqa: B006 - read only
    var_files: Sequence[str | Path] = (),
    workspace: str = "default",
    environ: Mapping[str, str] | None = None,
    schema_cache: Path | None = None,
) -> Stack:
    """Read, check and resolve the stack at ``path`` (see ``vastplan.stack.load``)."""
    from vastplan.stack.load import load_stack as load

    return load(path, variables, var_files, workspace, environ, schema_cache)
