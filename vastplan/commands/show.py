"""The ``show`` use case: render a saved plan file, human or JSON, without touching the network."""

from __future__ import annotations

from pathlib import Path

from vastplan.commands.session import Session
from vastplan.plan import planfile

EXIT_OK = 0


def show_saved(session: Session, path: str) -> int:
    """Render the plan saved in ``path`` exactly as it was planned (sensitive values stay redacted)."""
    saved, view = planfile.load(Path(path)), session.view
    view.line(f"Saved plan {path}: stack {saved.plan.stack_name or '?'}, made against state serial "
              f"{saved.serial} of {saved.state_file or saved.backend} (workspace {saved.workspace}).")
    view.plan(saved.plan, saved.stack_file)
    return EXIT_OK
