"""An instance's logs, told from what happened to it: the container's output and the daemon's.

Every status change is remembered on the record (``events``, the last ``MAX_EVENTS``). The
container log is what ``docker logs`` would show for that history: the image's banner at each
start, the SSH server coming up, the onstart script running (its ``echo`` lines print their text,
other lines are traced as ``bash -x`` would), and the shutdown messages. The daemon log is the
host's view: image pulls, container starts and stops, snapshots, with UTC timestamps.
"""

from __future__ import annotations

import re
import shlex
import time

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

Record = dict[str, JSON]
MAX_EVENTS = 64
DEFAULT_TAIL = 1000


def remember(record: Record, status: str, at: float) -> None:
    """Note a status change (called by the lifecycle on every change)."""
    events = record.setdefault("events", [])
    events.append([round(at, 3), status])
    del events[:-MAX_EVENTS]


def note(record: Record, what: str, at: float) -> None:
    """Note something that is not a status change but belongs in the logs (a snapshot...)."""
    remember(record, what, at)


def history(record: Record) -> list[tuple[float, str]]:
    """The remembered events, or a history made from the record for instances older than that."""
    events = record.get("events")
    if events:
        return [(float(at), str(what)) for at, what in events]
    created = float(record.get("created_at") or 0.0)
    guessed = [(created, "created")]
    running_since = record.get("running_since")
    if running_since is not None:
        guessed += [(created, "loading"), (float(running_since), "running")]
    status = record.get("actual_status")
    if status not in (None, "created", "loading", "running"):
        guessed.append((float(record.get("status_changed_at") or created), str(status)))
    return guessed


def _echo(line: str) -> str | None:
    """What an ``echo`` line of a script prints, or None for any other line."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    if not words or words[0] != "echo":
        return None
    return " ".join(w for w in words[1:] if w not in ("-e", "-n"))


def _script_output(script: str) -> list[str]:
    lines = []
    for raw in script.replace(";", "\n").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        printed = _echo(line)
        lines.append(printed if printed is not None else f"+ {line}")
    return lines


def _container_start(record: Record) -> list[str]:
    image = str(record.get("image") or "")
    lines = ["", "==========", f"== {image} ==", "==========", ""]
    runtype = str(record.get("runtype") or "")
    if "ssh" in runtype or "jupyter" in runtype:
        lines += ["Starting OpenSSH server: sshd.", "Server listening on 0.0.0.0 port 22."]
    if "jupyter" in runtype:
        lines.append(f"Jupyter Server is running at http://127.0.0.1:8080/?token={record.get('jupyter_token')}")
    keys = sorted(str(k) for k in (record.get("env") or {}) if not str(k).startswith("-"))
    if keys:
        lines.append("Environment: " + " ".join(keys))
    if runtype == "args":
        args = record.get("args")
        command = " ".join(str(a) for a in args) if isinstance(args, list) else str(args or "")
        lines.append(f"+ exec {command}".rstrip())
    onstart = record.get("onstart")
    if onstart and runtype != "args":
        lines.append("+ bash /root/onstart.sh")
        lines += _script_output(str(onstart))
    return lines


CONTAINER_LINES = {
    "stopped": ["Received SIGTERM, shutting down.", "sshd: Received signal 15; terminating."],
    "rebooting": ["Received SIGTERM, restarting.", "sshd: Received signal 15; terminating."],
    "recycling": ["Received SIGTERM, recycling the container.", "sshd: Received signal 15; terminating."],
    "exited": ["Error: container exited with code 1."],
    "offline": [],
}


def container_log(record: Record) -> list[str]:
    """``docker logs`` of the instance for its whole history."""
    lines: list[str] = []
    for _, what in history(record):
        if what == "running":
            lines += _container_start(record)
        else:
            lines += CONTAINER_LINES.get(what, [])
    return lines


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def daemon_log(record: Record) -> list[str]:
    """The host daemon's lines about this instance, with UTC timestamps."""
    image, ident = record.get("image"), f"C.{record.get('id')}"
    said = {
        "created": f"{ident}: contract accepted, {record.get('num_gpus')} GPU(s) reserved",
        "loading": f"{ident}: pulling image {image}",
        "running": f"{ident}: container started, ssh on port {record.get('ssh_port')}",
        "stopped": f"{ident}: container stopped",
        "rebooting": f"{ident}: restarting container",
        "recycling": f"{ident}: removing container and pulling {image} again",
        "exited": f"{ident}: container exited with code 1",
        "offline": f"{ident}: machine lost contact with the server",
    }
    lines = []
    for at, what in history(record):
        text = said.get(what) or f"{ident}: {what}"
        lines.append(f"[{_stamp(at)}] {text}")
    return lines


def select(lines: list[str], tail: JSON, pattern: JSON) -> list[str]:
    """Keep lines matching ``pattern`` (a grep regular expression), then the last ``tail``."""
    if pattern not in (None, ""):
        try:
            regex = re.compile(str(pattern))
        except re.error as exc:
            raise Refusal(400, "invalid_args", f"Invalid filter: {exc}.") from exc
        lines = [line for line in lines if regex.search(line)]
    try:
        count = int(str(tail)) if tail not in (None, "") else DEFAULT_TAIL
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "tail must be a whole number of lines.") from exc
    if count < 0:
        raise Refusal(400, "invalid_args", "tail must be a whole number of lines.")
    return lines[-count:] if count else []


def logs(record: Record, tail: JSON = None, pattern: JSON = None, daemon: bool = False) -> str:
    """The text a logs request uploads for the instance."""
    lines = daemon_log(record) if daemon else container_log(record)
    chosen = select(lines, tail, pattern)
    return "\n".join(chosen) + ("\n" if chosen else "")
