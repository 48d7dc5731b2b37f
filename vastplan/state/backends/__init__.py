"""Where state lives: each backend implements ``vastplan.state.model.StateBackend``; ``open_backend``
chooses one for a command.

The choice, first found wins: ``--backend URL`` (or env ``VASTPLAN_BACKEND``), then the stack file's
``backend:`` block (``url:`` without a password, or ``url_from_env: NAME``), then the local file at
``--state`` (default ``<stack stem>.vpstate.json``). A URL is ``postgresql://`` (or ``postgres://``)
for PostgreSQL, ``file:PATH`` or a plain path for a local file; any other scheme is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vastplan.errors import StateError, UsageError
from vastplan.state.backends.urls import redact_url

if TYPE_CHECKING:
    from vastplan.commands.options import Options
    from vastplan.state.model import StateBackend

POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_STACK_NAME = re.compile(r"""^stack[ \t]*:[ \t]*(["']?)([a-z0-9][a-z0-9-]{0,39})\1[ \t]*(#.*)?$""", re.MULTILINE)
_BACKEND_KEY = re.compile(r"^backend[ \t]*:", re.MULTILINE)


def open_backend(opts: Options, url: str | None = None) -> StateBackend:
    """The backend for this command's options, or for ``url`` (``state migrate --to``)."""
    keep = 20
    if url is None:
        url = opts.backend
        if not url:
            block = stack_backend_block(opts.stack_file)
            if block is not None:
                url, keep = block
    if not url:
        from vastplan.state.backends.local import LocalStateFile

        return LocalStateFile(opts.state_path, opts.workspace)
    return backend_for_url(url, opts, keep)


def backend_for_url(url: str, opts: Options, keep: int = 20) -> StateBackend:
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ("file" if url.startswith("file:") else "")
    if scheme in POSTGRES_SCHEMES:
        from vastplan.state.backends.postgres import PostgresBackend

        return PostgresBackend(url, stack_name(opts.stack_file), opts.workspace, keep)
    if scheme in ("", "file"):
        from vastplan.state.backends.local import LocalStateFile

        path = url.removeprefix("file://") if url.startswith("file://") else url.removeprefix("file:")
        if not path:
            raise UsageError("the backend file: names no path; use file:PATH or just PATH")
        return LocalStateFile(Path(path), opts.workspace)
    raise UsageError(f"the backend URL has the unknown scheme {scheme!r}; use postgresql://USER@HOST[:PORT]/DB "
                     "(password from PGPASSWORD or ~/.pgpass) or a state file path")


def stack_name(stack_file: str) -> str:
    """The stack's name, which keys its rows in a shared backend, read without loading the stack."""
    match = _STACK_NAME.search(_text(stack_file) or "")
    if match is None:
        raise StateError(f"a shared state backend keys state by stack name, and {stack_file} has no readable "
                         "`stack: NAME` line (run vastplan validate)")
    return match.group(2)


def stack_backend_block(stack_file: str) -> tuple[str, int] | None:
    """The URL (and versions kept) of the stack file's ``backend:`` block; None when it has none. Only
    a file with a top-level ``backend:`` line is parsed here; ``validate`` reports its other problems."""
    text = _text(stack_file)
    if text is None or not _BACKEND_KEY.search(text):
        return None
    from vastplan.stack.reader import load_yaml_file

    doc, _ = load_yaml_file(stack_file)
    block = doc.data.get("backend") if isinstance(doc.data, dict) else None
    if not isinstance(block, dict):
        return None
    return block_url(block, stack_file), _keep(block.get("keep_versions"))


def block_url(block: dict[str, Any], where: str) -> str:
    """The URL a ``backend:`` block names; a password written into the stack file is refused."""
    if isinstance(block.get("url_from_env"), str):
        name = block["url_from_env"]
        from_env = os.environ.get(name, "")
        if not from_env:
            raise UsageError(f"{where}: backend.url_from_env names the environment variable {name}, which is not set")
        return from_env
    url = block.get("url")
    if not isinstance(url, str) or not url:
        raise UsageError(f"{where}: the backend block needs url: or url_from_env:")
    if redact_url(url) != url.split("?", 1)[0] or "password=" in url:
        raise UsageError(f"{where}: backend.url holds a password, which must never sit in the stack file; "
                         "give it in PGPASSWORD or ~/.pgpass, or the whole URL with url_from_env: NAME")
    return url


def _keep(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 20


def _text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
