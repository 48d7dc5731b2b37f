"""Saved plans: ``plan --out FILE`` and ``apply FILE``.

A plan file is the JSON plan (the same document ``plan --json`` prints) plus what pins it: the
backend, workspace, lineage and serial of the state it was made against, a fingerprint of the stack
and var files, the tool version, the non-sensitive ``--var`` values, the ``--target``/``--exclude``/
``--replace`` it was made with, and the offers chosen. It never holds a secret: sensitive values
are redacted and sensitive variables must be given again to ``apply``. Mode 0600.

It is portable: the stack, var and ``--state`` files are recorded relative to the folder the plan
was made in (an absolute ``--state`` stays absolute), so a CI job can plan in one checkout and apply
in another, from the same folder of it. The state is then the one the applying checkout's
configuration names; the pinned lineage and serial make sure it is the same state.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vastplan import __version__
from vastplan.errors import PlanStaleError, UsageError
from vastplan.kinds.placement import Placement
from vastplan.plan.model import Plan, plan_from_json, plan_to_json
from vastplan.state.backends.local import atomic_write

PLAN_FORMAT = 1


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    stack_file: str
    state_file: str | None  # only a --state given to plan; else the state the stack file implies
    fingerprint: str
    lineage: str
    serial: int
    variables: Mapping[str, str]
    var_files: tuple[str, ...]
    placements: Mapping[str, Placement]
    version: str = __version__
    workspace: str = "default"
    backend: str = "local"  # what the backend's identity() said: its kind and place, never a password
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()


def portable(path: str) -> str:
    """``path`` relative to the current folder (where a plan is made, and later applied)."""
    try:
        return os.path.relpath(Path(path).resolve(), Path.cwd().resolve())
    except ValueError:  # another drive: nothing relative exists
        return str(Path(path).resolve())


def fingerprint(stack_file: str, var_files: Sequence[str]) -> str:
    """A digest of the stack and var files as they are on disk."""
    digest = hashlib.sha256()
    for path in (stack_file, *var_files):
        try:
            digest.update(Path(path).read_bytes())
        except OSError as exc:
            raise PlanStaleError(f"the saved plan's file {path} cannot be read here ({exc.strerror or exc}); "
                                 "apply a saved plan from the folder of the checkout it was made in") from exc
        digest.update(b"\0")
    return digest.hexdigest()


def save(path: Path, saved: SavedPlan) -> None:
    doc = {
        "format_version": PLAN_FORMAT,
        "vastplan_version": saved.version,
        **plan_to_json(saved.plan),
        "pinned": {
            "stack_file": saved.stack_file,
            "state_file": saved.state_file,
            "workspace": saved.workspace,
            "backend": saved.backend,
            "targets": list(saved.targets),
            "excludes": list(saved.excludes),
            "replace": list(saved.replace),
            "fingerprint": saved.fingerprint,
            "lineage": saved.lineage,
            "serial": saved.serial,
            "variables": dict(saved.variables),
            "var_files": list(saved.var_files),
            "placements": {addr: _placement_json(p) for addr, p in saved.placements.items()},
        },
    }
    try:
        atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write the plan file {path}: {exc.strerror or exc}") from exc


def load(path: Path) -> SavedPlan:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable vastplan plan file ({exc.__class__.__name__})") from exc
    if not isinstance(doc, dict) or doc.get("format_version") != PLAN_FORMAT or "pinned" not in doc:
        raise UsageError(f"{path} is not a vastplan plan file (format {PLAN_FORMAT})")
    if doc.get("vastplan_version") != __version__:
        raise PlanStaleError(f"{path} was made by vastplan {doc.get('vastplan_version')}; this is {__version__}. "
                             "Make the plan again.")
    pinned = doc["pinned"]
    try:
        return SavedPlan(
            plan=plan_from_json(doc), stack_file=pinned["stack_file"], state_file=pinned["state_file"],
            fingerprint=pinned["fingerprint"], lineage=pinned["lineage"], serial=int(pinned["serial"]),
            variables=dict(pinned.get("variables") or {}), var_files=tuple(pinned.get("var_files") or ()),
            placements={a: _placement_from_json(p) for a, p in (pinned.get("placements") or {}).items()},
            version=doc["vastplan_version"], workspace=str(pinned.get("workspace", "default")),
            backend=str(pinned.get("backend", "local")), targets=tuple(pinned.get("targets") or ()),
            excludes=tuple(pinned.get("excludes") or ()), replace=tuple(pinned.get("replace") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path} is a damaged plan file ({exc})") from exc


def _placement_json(p: Placement) -> dict[str, Any]:
    return {"offer": dict(p.offer), "query": dict(p.query), "order": p.order, "offer_type": p.offer_type,
            "current": p.current}


def _placement_from_json(raw: Mapping[str, Any]) -> Placement:
    return Placement(raw["offer"], raw["query"], raw["order"], raw["offer_type"], bool(raw["current"]))
