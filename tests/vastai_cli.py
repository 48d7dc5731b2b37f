"""Run the official ``vastai`` CLI (1.9.1) against a URL, isolated from the user's own config.

The CLI is the reference client: if it works against the sandbox, the sandbox speaks Vast.ai's
wire format. Nothing here touches the network beyond the given URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def vastai_command() -> list[str]:
    """The CLI next to the running interpreter, or the module form when no script exists."""
    script = Path(sys.executable).with_name("vastai")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "vastai"]


def run_vastai(url: str, api_key: str, *args: str, config_dir: Path,
               timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``vastai ARGS`` with VAST_URL/VAST_API_KEY set, its XDG dirs in ``config_dir`` and
    stdin closed, so it can neither prompt nor read or write the real user's files."""
    config_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAST", "XDG_"))}
    env.update({
        "VAST_URL": url,
        "VAST_API_KEY": api_key,
        "VASTAI_NO_UPDATE_CHECK": "1",
        "XDG_CONFIG_HOME": str(config_dir / "config"),
        "XDG_CACHE_HOME": str(config_dir / "cache"),
        "XDG_STATE_HOME": str(config_dir / "state"),
        "XDG_DATA_HOME": str(config_dir / "data"),
        "HOME": str(config_dir / "home"),
        "NO_COLOR": "1",
        "COLUMNS": "250",  # wide enough that table output never hides a column
        "PYTHONIOENCODING": "utf-8",
    })
    (config_dir / "home").mkdir(exist_ok=True)
    return subprocess.run(
        [*vastai_command(), *args], env=env, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=timeout, check=False,
    )


# The official package's own HTTP client (``vastai.api.client.VastClient``), for the API areas its CLI
# has no command for (notification webhooks): it builds the URL, headers and body as the CLI does.
_CLIENT_CALL = """
import json, os, sys
from vastai.api.client import VastClient
method, path, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
client = VastClient(api_key=os.environ["VAST_API_KEY"], server_url=os.environ["VAST_URL"])
answer = getattr(client, method.lower())(path, json_data=body)
print(json.dumps({"status": answer.status_code, "body": answer.json()}))
"""


def run_vastai_client(url: str, api_key: str, method: str, path: str, body: object, *, config_dir: Path,
                      timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """One call through the official package's API client, isolated like ``run_vastai``; its stdout
    is ``{"status": N, "body": ...}``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "home").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAST", "XDG_"))}
    env.update({"VAST_URL": url, "VAST_API_KEY": api_key, "VASTAI_NO_UPDATE_CHECK": "1",
                "HOME": str(config_dir / "home"), "XDG_CONFIG_HOME": str(config_dir / "config"),
                "XDG_CACHE_HOME": str(config_dir / "cache"), "PYTHONIOENCODING": "utf-8"})
    return subprocess.run(
        [sys.executable, "-c", _CLIENT_CALL, method, path, json.dumps(body)], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, check=False,
    )
