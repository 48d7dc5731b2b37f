"""The official vastai 1.9.1 CLI, pointed at the sandbox, works for the operations vastplan uses.

This is the proof that the sandbox speaks Vast.ai's wire format and not just our own client's.
"""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vastsandbox.server import RunningSandbox

try:
    from vastai_cli import run_vastai
except ImportError:  # tests/ became a package
    from tests.vastai_cli import run_vastai  # type: ignore[no-redef]

pytest.importorskip("vastai")

CANARY = "canary-key-7f3a9c2e-DO-NOT-PRINT"
PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx me@host"


class Cli:
    def __init__(self, sandbox: RunningSandbox, config_dir: Path) -> None:
        self.sandbox = sandbox
        self.config_dir = config_dir

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = run_vastai(self.sandbox.url, CANARY, *args, config_dir=self.config_dir)
        for bad in ("invalid return Content-Type", "Traceback", "Failed with error"):
            assert bad not in done.stderr, done.stderr
            assert bad not in done.stdout, done.stdout
        assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)


def after_prefix(text: str, prefix: str) -> Any:
    """The Python literal the CLI prints after ``prefix`` (it prints dict reprs, not JSON)."""
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return ast.literal_eval(line[len(prefix):].strip())


@pytest.fixture
def cli(sandbox: RunningSandbox, tmp_path: Path) -> Cli:
    return Cli(sandbox, tmp_path / "vastai")


def test_show_user_raw(cli: Cli) -> None:
    user = cli.json("show", "user", "--raw")
    assert isinstance(user["id"], int)
    assert "credit" in user


def test_ssh_keys_create_and_show(cli: Cli) -> None:
    assert cli.json("show", "ssh-keys", "--raw") == []
    created = cli.run("create", "ssh-key", PUBKEY)
    result = after_prefix(created.stdout, "ssh-key created ")
    assert result["success"] is True and result["key"]["public_key"] == PUBKEY
    keys = cli.json("show", "ssh-keys", "--raw")
    assert [k["key"] for k in keys] == [PUBKEY]
    assert keys[0]["id"] == result["key"]["id"]


def test_template_create_search_delete(cli: Cli) -> None:
    created = cli.run("create", "template", "--name", "t1", "--image", "vastai/pytorch",
                      "--image_tag", "latest", "--env", "-p 8080:8080 -e K=V", "--onstart-cmd", "echo hi",
                      "--ssh", "--direct", "--disk_space", "20", "--search_params", "gpu_ram>=20 num_gpus=1")
    template = after_prefix(created.stdout, "New Template: ")
    assert template["name"] == "t1" and template["runtype"] == "ssh" and template["ssh_direct"] is True
    assert template["env"] == "-p 8080:8080 -e K=V"
    assert template["recommended_disk_space"] == 20.0
    assert template["extra_filters"]["gpu_ram"] == {"gte": 20000.0}

    found = cli.json("search", "templates", "name=t1")
    assert [t["hash_id"] for t in found] == [template["hash_id"]]

    deleted = cli.run("delete", "template", "--hash-id", template["hash_id"])
    assert "deleted" in deleted.stdout
    assert cli.json("search", "templates", "name=t1") == []


def test_template_update_gets_a_new_hash(cli: Cli) -> None:
    created = cli.run("create", "template", "--name", "upd", "--image", "img", "--ssh")
    template = after_prefix(created.stdout, "New Template: ")
    updated = cli.run("update", "template", template["hash_id"], "--name", "upd", "--image", "img2", "--ssh")
    assert "updated template:" in updated.stdout
    after = json.loads(updated.stdout.split("updated template:", 1)[1])
    assert after["id"] == template["id"] and after["hash_id"] != template["hash_id"]
    assert after["image"] == "img2"


def test_cli_never_prints_the_key(cli: Cli) -> None:
    done = cli.run("show", "user", "--raw")
    assert CANARY not in done.stdout + done.stderr


def test_search_offers_raw(cli: Cli) -> None:
    offers = cli.json("search", "offers", "gpu_name=RTX_4090 num_gpus=1", "--raw")
    assert offers and all(o["gpu_name"] == "RTX 4090" and o["num_gpus"] == 1 for o in offers)
    assert all(o["verified"] and o["rentable"] for o in offers)
    cheap = cli.json("search", "offers", "num_gpus=1 reliability>0.98", "-o", "dph+", "--limit", "5", "--raw")
    prices = [o["dph_total"] for o in cheap]
    assert len(cheap) == 5 and prices == sorted(prices)
    table = cli.run("search", "offers", "gpu_name=RTX_4090", "--limit", "3")
    assert "RTX_4090" in table.stdout


def test_instance_lifecycle_through_the_cli(cli: Cli) -> None:
    offer = cli.json("search", "offers", "num_gpus=1", "-o", "dph+", "--limit", "1", "--raw")[0]
    created = cli.json("create", "instance", str(offer["id"]), "--image", "pytorch/pytorch:latest", "--disk", "40",
                       "--label", "job1", "--env", "-p 8080:8080 -e KEY=VAL", "--ssh", "--direct",
                       "--onstart-cmd", "echo hi", "--raw")
    assert created["success"] is True
    instance_id = created["new_contract"]

    rows = cli.json("show", "instances", "--raw")
    assert [r["id"] for r in rows] == [instance_id]
    assert rows[0]["extra_env"] == {"-p 8080:8080": "1", "KEY": "VAL"}
    assert rows[0]["image_runtype"] == "ssh_direc ssh_proxy" and rows[0]["disk_space"] == 40

    one = cli.json("show", "instance", str(instance_id), "--raw")
    assert one["id"] == instance_id and one["label"] == "job1"
    assert "Model" in cli.run("show", "instance", str(instance_id)).stdout
    assert str(instance_id) in cli.run("show", "instances").stdout

    cli.run("label", "instance", str(instance_id), "renamed")
    assert cli.json("show", "instance", str(instance_id), "--raw")["label"] == "renamed"

    cli.run("stop", "instance", str(instance_id))
    assert cli.json("show", "instance", str(instance_id), "--raw")["intended_status"] == "stopped"

    cli.run("destroy", "instance", str(instance_id), "-y")
    assert cli.json("show", "instances", "--raw") == []
    assert cli.json("show", "instance", str(instance_id), "--raw") == {"instances": None}


def test_volumes_through_the_cli(cli: Cli) -> None:
    offers = cli.json("search", "volumes", "disk_space>100", "--raw")
    assert offers and all(o["disk_space"] > 100 for o in offers)
    created = cli.json("create", "volume", str(offers[0]["id"]), "-s", "20", "-n", "data", "--raw")
    assert created["success"] is True and created["volume_name"].startswith("V.")
    volumes = cli.json("show", "volumes", "--raw")
    assert [(v["label"], v["disk_space"]) for v in volumes] == [("data", 20.0)]
    assert "data" in cli.run("show", "volumes").stdout
