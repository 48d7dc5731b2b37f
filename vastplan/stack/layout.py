"""The canonical layout of a stack file, for ``vastplan fmt``: what ``terraform fmt`` is to HCL.

Canonical means: mappings indented by 2, a block list's ``-`` indented by 2 under its key (items by
4), one space after ``:`` and ``,``, flow mappings and lists kept on their line, literal blocks
(``|``) re-indented with their key. Everything a person chose is kept: comments (and where they sit),
blank lines, key order, quotes, anchors and aliases, flow or block style. The shipped examples are
in this layout.

ruamel.yaml does the round trip: it is the one maintained YAML library that keeps comments, and a
hand-written re-indenter would have to re-implement YAML's block scalars, flow collections and
multi-line plain scalars to be safe. As a guard against any library surprise, the formatted text is
parsed again (by vastplan's own reader) and must give the same data as the original, else the file
is left alone and the command fails.
"""

from __future__ import annotations

import difflib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vastplan.diagnostics import Diagnostic, SourceRange
from vastplan.stack.reader import parse_yaml, read_text

__all__ = ["Layout", "canonical", "diff"]


@dataclass(frozen=True)
class Layout:
    """One file's text as it is and in canonical layout; ``problems`` when it cannot be formatted."""

    path: Path
    text: str
    formatted: str
    problems: tuple[Diagnostic, ...] = ()

    @property
    def canonical(self) -> bool:
        return not self.problems and self.text == self.formatted


def canonical(path: Path, display: str | None = None) -> Layout:
    """``path``'s text and its canonical layout (or the problems that stop it being formatted)."""
    shown = display or str(path)
    text, diags = read_text(path, shown)
    if text is None:
        return Layout(path, "", "", tuple(diags))
    original, diags = parse_yaml(text, shown)
    if diags:
        return Layout(path, text, text, tuple(diags))
    formatted = _round_trip(text)
    again, _ = parse_yaml(formatted, shown)
    if formatted == text:
        return Layout(path, text, formatted)
    if again.data != original.data:
        problem = "formatting would change what the file means (a YAML construct fmt cannot lay out); left as it is"
        return Layout(path, text, text, (Diagnostic(problem, range=SourceRange(shown, 1, 1)),))
    lost = Counter(_comments(text)) - Counter(_comments(formatted))
    if lost:
        comment = next(iter(lost))
        line, column = next((n, len(t) - len(t.split(comment, 1)[1]) - len(comment) + 1)
                            for n, t in enumerate(text.splitlines(), 1) if comment in t)
        problem = f"fmt cannot lay out this file without losing the comment {comment!r} here; left as it is"
        return Layout(path, text, text, (Diagnostic(problem, range=SourceRange(shown, line, column)),))
    return Layout(path, text, formatted)


def _comments(text: str) -> list[str]:
    """Every ``# ...`` a line ends with (and text in strings that looks like one, the same on both
    sides), to prove that the layout kept each comment."""
    return sorted(match.group(1).rstrip() for match in map(_COMMENT.search, text.splitlines()) if match)


_COMMENT = re.compile(r"(?:^|\s)(#.*)$")


def diff(layout: Layout, display: str) -> str:
    """A unified diff from the file as it is to its canonical layout."""
    lines = difflib.unified_diff(layout.text.splitlines(keepends=True), layout.formatted.splitlines(keepends=True),
                                 fromfile=f"{display} (as it is)", tofile=f"{display} (formatted)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _round_trip(text: str) -> str:
    """``text`` laid out by ruamel.yaml; what comes before a ``---`` document start (comments, which
    ruamel.yaml would drop) is kept as it is."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), 0)
    if lines and lines[start].startswith("---") and start > 0:
        return "".join(lines[:start]) + _round_trip("".join(lines[start:]))
    from ruamel.yaml import YAML  # imported here: only fmt needs it

    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long value onto a second line
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    markers = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    yaml.explicit_start = bool(markers) and markers[0].startswith("---")  # kept where the author wrote it
    yaml.explicit_end = bool(markers) and markers[-1].rstrip() == "..."
    try:
        data = yaml.load(text)
    except Exception:  # noqa: BLE001 - vastplan's reader accepted it; an odd corner ruamel refuses stays as it is
        return text
    if data is None:  # only comments, or empty: nothing to lay out
        return text
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
