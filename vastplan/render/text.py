"""Text that fits a terminal of 80 columns: long lines folded under their value, multi-line values
shown line by line, SSH public keys shortened to their fingerprint, and tables narrowed by one column."""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import re
from collections.abc import Sequence

WIDTH = 80

# An OpenSSH public key: type, base64 blob, optional comment (what ssh_keys and public_key hold).
_OPENSSH_PUBLIC = re.compile(r"(?:ssh|ecdsa|sk-ssh|sk-ecdsa)-[\w@.-]+ +([A-Za-z0-9+/]{16,}={0,3})(?: [^\n]*)?")
# Where a field line's value starts: "      ~ disk_gb = " (the fold hangs under it).
_FIELD = re.compile(r"^( *(?:[-+~]|-/\+|\+/-)? *[\w.\[\]-]+ = )")


def fingerprint(text: str) -> str | None:
    """``SHA256:...`` for an OpenSSH public key, as ``ssh-keygen -l`` prints it; None for other text."""
    match = _OPENSSH_PUBLIC.fullmatch(text.strip())
    if not match:
        return None
    try:
        blob = base64.b64decode(match.group(1), validate=True)
    except (binascii.Error, ValueError):
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def fold(line: str, width: int = WIDTH) -> list[str]:
    """``line`` cut into lines of at most ``width`` columns; the continuations hang under the value of a
    field line (``+ name = ...``), else two columns in from the line's own indent. Cut at a space when one
    is near the end, else anywhere. Other lines hang four columns in, deeper than a script's own
    two-column indent."""
    if len(line) <= width:
        return [line]
    field = _FIELD.match(line)
    hang = len(field.group(1)) if field else len(line) - len(line.lstrip(" ")) + 4
    hang = min(hang, width // 2)
    body, sep, comment = line.rpartition("  # ")
    if sep and body.strip() and len(comment) + 2 <= width - hang:
        # A trailing note ("# forces replacement") is never cut in two: it goes where it fits whole.
        lines = fold(body, width)
        note = "# " + comment
        if len(lines[-1]) + 2 + len(note) <= width:
            return lines[:-1] + [lines[-1] + "  " + note]
        return lines + [" " * hang + note]
    lines, rest, first = [], line, True
    while len(rest) > (width if first else width - hang):
        room = width if first else width - hang
        arrow = rest.rfind(" -> ", hang, room - 3)  # between an old and a new value reads best
        cut = arrow + 4 if arrow > 0 else rest.rfind(" ", room * 2 // 3, room) + 1
        cut = cut if cut > 0 else room
        lines.append((rest[:cut] if first else " " * hang + rest[:cut]).rstrip(" "))
        rest, first = rest[cut:], False
    lines.append(rest if first else " " * hang + rest)
    return lines


def text_lines(before: str | None, after: str | None) -> list[str]:
    """A multi-line text value as its lines (the final newline not counted): every line of a new or
    removed value, or the lines that changed between two (``-``, ``+``), with runs of more than two
    unchanged lines counted instead of shown."""
    if before is None or after is None:
        return _lines(after if before is None else before)
    old, new = _lines(before), _lines(after)
    shown: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            same = i2 - i1
            if same <= 2:
                shown += [f"  {line}" for line in old[i1:i2]]
            else:
                shown.append(f"  # ({same} unchanged lines hidden)")
            continue
        shown += [f"- {line}" for line in old[i1:i2]] + [f"+ {line}" for line in new[j1:j2]]
    return shown


def _lines(text: str | None) -> list[str]:
    lines = (text or "").split("\n")
    return lines[:-1] if len(lines) > 1 and lines[-1] == "" else lines


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], narrow: int, width: int = WIDTH,
          indent: str = "", right: Sequence[int] = ()) -> str:
    """A plain table (two spaces between columns) at most ``width`` wide: column ``narrow`` (a place
    name, say) is cut short when the others leave it less room than its longest value; the columns
    ``right`` (numbers) are aligned right."""
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    room = width - len(indent) - (sum(widths) - widths[narrow]) - 2 * (len(headers) - 1)
    room = max(room, len(headers[narrow]), 8)
    for row in cells:
        if len(row[narrow]) > room:
            row[narrow] = row[narrow][: room - 3].rstrip() + "..."
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if i in right else v.ljust(w)
                  for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return (indent + "  ".join(padded)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in cells)])
