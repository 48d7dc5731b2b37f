"""The ownership marker every object vastplan creates carries, so it can be recognised later.

Format: ``vp:<stack>/<address>``, e.g. ``vp:llm-serving/instances.server[2]``. Instances and
volumes carry it in ``label``, templates in ``desc``; SSH keys have no free-text field and are
matched by key content instead.
"""

from __future__ import annotations

import re

from vastplan.addresses import PATTERN

PREFIX = "vp:"
_MARKER = re.compile(rf"^vp:(?P<stack>[a-z0-9][a-z0-9-]*)/(?P<address>{PATTERN})")


def marker(stack: str, address: str) -> str:
    return f"{PREFIX}{stack}/{address}"


def parse_marker(text: str | None) -> tuple[str, str] | None:
    """(stack, address) when ``text`` starts with a marker, else None."""
    match = _MARKER.match(text or "")
    return (match["stack"], match["address"]) if match else None


def strip_marker(text: str | None) -> str:
    """The part of a label after a leading marker: what the stack's own ``label:`` says."""
    match = _MARKER.match(text or "")
    return (text or "")[match.end():].strip() if match else (text or "")
