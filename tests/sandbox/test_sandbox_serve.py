"""``serve()``: the URL is the first output line, and SIGTERM/SIGINT stop it cleanly with a save."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Api

SCRIPT = """
import sys
from pathlib import Path
from vastsandbox.server import serve
serve("127.0.0.1", 0, Path(sys.argv[1]), None, 0, 0.1, 0.0, 10, lambda line: print(line, flush=True))
print("stopped", flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_first_and_stops_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "d")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert Api(url).post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 a@b"}).status == 200
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.strip() == "stopped"
    saved = json.loads((tmp_path / "d" / "sandbox.json").read_text())
    assert len(saved["objects"]["ssh_keys"]) == 1


def test_vastplan_sandbox_serve_strict_refuses_requests_that_break_the_spec(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "vastplan", "sandbox", "serve", "--strict", "--machines", "5",
               "--data", str(tmp_path / "d")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        api = Api(proc.stdout.readline().strip())
        refused = api.post("/api/v0/ssh/", {"public_key": "ssh-ed25519 AAAAC3 a@b"})
        assert refused.status == 400 and "'ssh_key' is a required property" in refused.json["msg"]
        assert api.post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 a@b"}).status == 200
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
