"""The ``show`` use case: a saved plan file, or without one the current state (Terraform's ``show``),
human or JSON, without touching the network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vastplan import __version__
from vastplan.addresses import sort_key
from vastplan.commands.session import Session
from vastplan.plan import planfile
from vastplan.plan.outputs import shown

EXIT_OK = 0


def show_saved(session: Session, path: str) -> int:
    """Render the plan saved in ``path`` exactly as it was planned (sensitive values stay redacted)."""
    saved, view = planfile.load(Path(path)), session.view
    view.line(f"Saved plan {path}: stack {saved.plan.stack_name or '?'}, made against state serial "
              f"{saved.serial} of {saved.state_file or saved.backend} (workspace {saved.workspace}).")
    view.plan(saved.plan, saved.stack_file)
    return EXIT_OK


def show_state(session: Session) -> int:
    """Every object the state records, sensitive values redacted, then the outputs; `--json` as one document."""
    state = session.backend.read()
    resources = sorted(state.resources.items(), key=lambda item: sort_key(item[0])) if state else []
    outputs: dict[str, Any] = dict(state.outputs) if state else {}
    values = shown(outputs, False)
    document = {
        "format_version": "1.0", "vastplan_version": __version__, "state": session.backend.describe(),
        "serial": state.serial if state else None,
        "resources": [{"address": address, **entry.to_json()} for address, entry in resources],
        "outputs": {k: {"value": values[k], "sensitive": bool(outputs[k].get("sensitive"))} for k in sorted(outputs)},
    }
    if not resources:
        session.view.result(document, f"The state {session.backend.describe()} holds nothing yet.")
        return EXIT_OK
    session.view.result(document, "\n".join(_text(document)))
    return EXIT_OK


def _text(document: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for resource in document["resources"]:
        mark = " (tainted)" if resource["tainted"] else ""
        lines += [f"# {resource['address']}:{mark}", f"{resource['kind']} (id {resource['id']})"]
        attributes = resource["attributes"]
        width = max((len(key) for key in attributes), default=0)
        lines += [f"    {key.ljust(width)} = {json.dumps(attributes[key])}" for key in sorted(attributes)]
        lines.append("")
    if document["outputs"]:
        lines += ["Outputs:", ""]
        lines += [f"{name} = {json.dumps(item['value'])}" for name, item in document["outputs"].items()]
    return lines
