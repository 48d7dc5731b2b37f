"""The ownership marker every object vastplan creates carries, so it can be recognised later.

Format: ``vp:<owner>/<address>``, where the owner is the stack's name in the default workspace
(``vp:llm-serving/instances.server[2]``, as before workspaces existed, so existing states and
accounts keep working) and ``<stack>@<workspace>`` in any other (``vp:llm-serving@staging/...``).
Every search is a prefix search on ``vp:<owner>/``: the ``/`` ends the owner, so neither a default
marker and a named one, nor two named ones, can ever match each other's prefix.

Instances and volumes carry it in ``label``, templates in ``desc``; SSH keys have no free-text
field and are matched by key content instead.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from vastplan.addresses import PATTERN

PREFIX = "vp:"
DEFAULT_WORKSPACE = "default"
# Lower case only: a workspace names a folder, and "Prod" and "prod" are one folder on macOS.
WORKSPACE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_MARKER = re.compile(r"^vp:(?P<stack>[a-z0-9][a-z0-9-]*)(?:@(?P<workspace>[a-z0-9][a-z0-9_-]*))?"
                     rf"/(?P<address>{PATTERN})")


class Marker(NamedTuple):
    stack: str
    address: str
    workspace: str = DEFAULT_WORKSPACE


def owner(stack: str, workspace: str = DEFAULT_WORKSPACE) -> str:
    """What a marker names as its owner: the stack, plus the workspace unless it is the default."""
    return stack if workspace == DEFAULT_WORKSPACE else f"{stack}@{workspace}"


def marker(owner_name: str, address: str) -> str:
    """``owner_name`` is ``owner(stack, workspace)`` (``Stack.owner``)."""
    return f"{PREFIX}{owner_name}/{address}"


def parse_marker(text: str | None) -> Marker | None:
    """(stack, address, workspace) when ``text`` starts with a marker, else None."""
    match = _MARKER.match(text or "")
    if not match:
        return None
    return Marker(match["stack"], match["address"], match["workspace"] or DEFAULT_WORKSPACE)


def strip_marker(text: str | None) -> str:
    """The part of a label after a leading marker: what the stack's own ``label:`` says."""
    match = _MARKER.match(text or "")
    return (text or "")[match.end():].strip() if match else (text or "")
