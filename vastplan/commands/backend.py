"""The state as a whole, between backends: ``state pull`` prints it, ``state push FILE`` replaces it
(with Terraform's checks: the same lineage, a serial not older than the stored one, unless --force),
``state history`` lists the versions a backend keeps, ``state migrate --to URL`` copies it to another
backend with its lineage and serial."""

from __future__ import annotations

import json
from pathlib import Path

from vastplan.commands.session import Session
from vastplan.errors import StateError, UnreadableFile, UsageError
from vastplan.files import read_regular_file
from vastplan.kinds import COLLECTION_KINDS
from vastplan.state.model import State


def pull(session: Session) -> int:
    state = session.backend.read()
    if state is None:
        raise StateError(f"there is no state at {session.backend.describe()}")
    text = json.dumps(state.to_json(), indent=2)
    session.view.result(state.to_json(), text)
    return 0


def push(session: Session, path: str, *, force: bool) -> int:
    try:
        raw = read_regular_file(Path(path), 256 * 1024 * 1024).decode("utf-8")
        state = State.from_json(json.loads(raw), path, COLLECTION_KINDS)
    except (UnreadableFile, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read the state file {path}: {exc}") from None
    backend = session.backend
    written = backend.push(state, force=force)
    session.view.line(f"Pushed {path} (lineage {written.lineage}, serial {written.serial}) to {backend.describe()}.")
    return 0


def history(session: Session) -> int:
    backend = session.backend
    versions = backend.history()
    if not versions:
        raise StateError(f"there is no state at {backend.describe()}")
    lines = [f"serial {v.serial:>5}  {v.written}  {v.resources:>5} resources  {v.operation or '-'}  lineage {v.lineage}"
             for v in versions]
    session.view.result([{"serial": v.serial, "lineage": v.lineage, "written": v.written, "operation": v.operation,
                          "resources": v.resources} for v in versions], "\n".join(lines))
    return 0


def migrate(session: Session, target_url: str, *, lock_timeout: float) -> int:
    """Copy the state to ``target_url`` as it is (lineage and serial kept), both backends locked;
    refused when the target already holds another lineage or a newer serial."""
    from vastplan.state.backends import backend_for_url

    source = session.backend
    state = source.read()
    if state is None:
        raise StateError(f"there is no state at {source.describe()} to migrate")
    target = backend_for_url(target_url, session.opts)
    if target.describe() == source.describe():
        raise UsageError(f"{target.describe()} is where the state already is")
    with target.lock("state migrate", lock_timeout):
        there = target.read()
        if there is not None and there.lineage != state.lineage:
            raise StateError(f"{target.describe()} already holds another state (lineage {there.lineage}, not "
                             f"{state.lineage}); nothing was copied")
        if there is not None and there.serial > state.serial:
            raise StateError(f"{target.describe()} holds a newer version of this state (serial {there.serial} > "
                             f"{state.serial}); nothing was copied")
        target.push(state)
    session.view.line(f"Migrated the state (lineage {state.lineage}, serial {state.serial}, "
                      f"{len(state.resources)} resources) from {source.describe()} to {target.describe()}. "
                      f"Use --backend {_shown(target_url)} (or VASTPLAN_BACKEND, or the stack's backend: block) "
                      "from now on; the old copy was left as it was.")
    return 0


def _shown(url: str) -> str:
    from vastplan.state.backends.urls import redact_url

    return redact_url(url)
