"""``vastplan fmt``: stack files rewritten in their canonical layout, comments kept (``stack/layout.py``);
``--check`` for CI lists the files that are not and exits 1, ``--diff`` shows what would change."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click

from vastplan.cli.options import Invocation, view_of
from vastplan.diagnostics import Diagnostic
from vastplan.errors import StackError, UsageError

_SUFFIXES = (".yaml", ".yml")


@click.command("fmt")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--check", is_flag=True, help="Change nothing: list the files not in canonical layout and exit 1 "
                                            "if there are any (for CI).")
@click.option("--diff", "show_diff", is_flag=True, help="Show what would change, as a unified diff.")
@click.option("--recursive", is_flag=True, help="Also look in the folders below each folder given.")
@click.option("-f", "--file", "stack_file", metavar="STACK", help="The stack file (the same as giving it as PATH).")
@click.pass_context
def fmt_command(ctx: click.Context, paths: tuple[str, ...], check: bool, show_diff: bool, recursive: bool,
                stack_file: str | None) -> None:
    """Rewrite stack files in the canonical layout, keeping comments. PATH is a file, or a folder whose
    stack files (YAML with `version:` and `stack:`) are formatted; by default the -f stack file if
    one was given, else this folder's stack files."""
    from vastplan.stack.layout import canonical, diff

    view = view_of(ctx)
    files = _files(paths or ((stack_file,) if stack_file else _default(ctx)), recursive)
    problems: list[Diagnostic] = []
    unformatted: list[str] = []
    for path in files:
        layout = canonical(path)
        if layout.problems:
            problems += layout.problems
            continue
        if layout.canonical:
            continue
        unformatted.append(str(path))
        view.line(str(path))
        if show_diff:
            view.line(diff(layout, str(path)).rstrip("\n"))
        if not check:
            try:
                _write(path, layout.formatted)
            except OSError as exc:
                raise UsageError(f"{path}: cannot be rewritten ({exc.strerror or exc}); it is left as it was") from exc
    if problems:
        raise StackError(problems)
    if check and unformatted:
        count = len(unformatted)
        raise UsageError(f"{count} file{'s are' if count != 1 else ' is'} not in canonical layout; "
                         "run `vastplan fmt` to rewrite "
                         f"{'them' if count != 1 else 'it'}")
    ctx.exit(0)


def _default(ctx: click.Context) -> tuple[str, ...]:
    invocation = ctx.find_object(Invocation)
    common: dict[str, Any] = invocation.common if invocation else {}
    return (common["stack_file"],) if common.get("stack_file") else (".",)


def _files(paths: tuple[str, ...], recursive: bool) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = (p for p in path.glob(pattern) if p.suffix in _SUFFIXES and not _hidden(p.relative_to(path)))
            files += sorted(p for p in found if _is_stack(p))
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            raise UsageError(f"{given}: no such file or folder")
    return files


def _hidden(relative: Path) -> bool:
    """Inside a hidden folder (.git, .venv) or hidden itself: never a file to format."""
    return any(part.startswith(".") for part in relative.parts)


def _is_stack(path: Path) -> bool:
    """A YAML file whose top level has ``version:`` and ``stack:`` (not a CI config or a var file)."""
    if not path.is_file():
        return False
    from vastplan.stack.reader import parse_yaml, read_text

    text, _ = read_text(path, str(path))
    if text is None:
        return False
    doc, diags = parse_yaml(text, str(path))
    return not diags and isinstance(doc.data, dict) and "version" in doc.data and "stack" in doc.data


def _write(path: Path, text: str) -> None:
    """Replace ``path``'s content at once (a temporary file renamed over it), keeping its mode."""
    target = path.resolve()
    mode = target.stat().st_mode & 0o7777
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".fmt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
