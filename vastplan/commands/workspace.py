"""Workspaces: one stack file, several independent states (staging, prod), each with its own
ownership markers so that no command of one ever sees or touches another's objects.

The workspace is ``--workspace NAME``, else ``VASTPLAN_WORKSPACE``, else the one ``vastplan
workspace select`` kept for this stack in ``.vastplan/<stack stem>.workspace`` of the current
folder, else ``default``. CI passes the flag or the variable; the selection file is for people.
"""

from __future__ import annotations

from pathlib import Path

from vastplan.commands.session import Session
from vastplan.errors import UsageError
from vastplan.state.model import State

DEFAULT = "default"
SELECTION_DIR = ".vastplan"


def check_name(name: str) -> str:
    from vastplan.kinds.ownership import WORKSPACE_NAME

    if not WORKSPACE_NAME.fullmatch(name):
        raise UsageError(f"{name!r} is not a workspace name: 1 to 32 lower-case letters, digits, '-' or '_', "
                         "starting with a letter or digit")
    return name


def selection_file(stack_file: str) -> Path:
    return Path(SELECTION_DIR) / f"{Path(stack_file).stem}.workspace"


def selected(stack_file: str) -> str:
    """The workspace ``workspace select`` chose for this stack here, else ``default``."""
    try:
        text = selection_file(stack_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return DEFAULT
    return check_name(text) if text else DEFAULT


def show(session: Session) -> int:
    session.view.result({"workspace": session.opts.workspace}, session.opts.workspace)
    return 0


def list_all(session: Session) -> int:
    current = session.opts.workspace
    names = sorted(set(session.backend.list_workspaces()) | {current}, key=lambda n: (n != DEFAULT, n))
    session.view.result({"current": current, "workspaces": names},
                        "\n".join(f"{'*' if n == current else ' '} {n}" for n in names))
    return 0


def new(session: Session, name: str) -> int:
    session.retarget(workspace=check_name(name))  # every backend lists all the stack's workspaces
    if name in session.backend.list_workspaces():
        raise UsageError(f"the workspace {name!r} already exists; select it with: vastplan workspace select {name}")
    with session.locked("workspace new"):
        session.backend.write(State.new(_stack_name(session.opts.stack_file)))
    _select(session.opts.stack_file, name)
    session.view.line(f"Created and selected the workspace {name!r}: its state is {session.backend.describe()}, "
                      f"and its objects are marked vp:<stack>@{name}/...")
    return 0


def select(session: Session, name: str) -> int:
    check_name(name)
    if name not in session.backend.list_workspaces():
        raise UsageError(f"there is no workspace {name!r}; make it with: vastplan workspace new {name}")
    _select(session.opts.stack_file, name)
    session.view.line(f"Switched to the workspace {name!r}.")
    return 0


def delete(session: Session, name: str, force: bool) -> int:
    check_name(name)
    if name == DEFAULT:
        raise UsageError("the default workspace cannot be deleted")
    if name == session.opts.workspace:
        raise UsageError(f"{name!r} is the current workspace; select another one first "
                         "(vastplan workspace select default)")
    session.retarget(workspace=name)
    if name not in session.backend.list_workspaces():
        raise UsageError(f"there is no workspace {name!r}")
    with session.locked("workspace delete"):
        state = session.backend.read()
        held = sorted(a for a, e in (state.resources if state else {}).items() if e.id is not None or e.pending)
        if held and not force:
            raise UsageError(f"the workspace {name!r} still holds {', '.join(held)}; destroy them first "
                             f"(vastplan destroy --workspace {name}), or pass --force to forget them "
                             "(they keep billing; `vastplan orphans --workspace NAME` finds them again)")
        session.backend.delete_workspace(name)
    session.view.line(f"Deleted the workspace {name!r}.")
    return 0


def _select(stack_file: str, name: str) -> None:
    path = selection_file(stack_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot keep the workspace selection in {path}: {exc.strerror or exc}") from exc


def _stack_name(stack_file: str) -> str | None:
    """The ``stack:`` name the new state is for (None when the file cannot tell; the first apply does)."""
    from vastplan.stack.reader import load_yaml_file

    doc, diags = load_yaml_file(stack_file)
    name = doc.data.get("stack") if not diags and isinstance(doc.data, dict) else None
    return name if isinstance(name, str) else None
