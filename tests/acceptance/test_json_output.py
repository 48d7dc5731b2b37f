"""Machine output: `plan/show --json` print one document, `apply/destroy/validate --json` stream NDJSON
events, and every error in JSON mode is a diagnostic (docs/json-format.md)."""

from __future__ import annotations

import json
from typing import Any

from tests.harness import Workspace, admin, document, events, skeleton_stack, small_stack

ADDRESSES = {"ssh_keys.laptop", "ssh_keys.ci", "templates.torch"}
PLAN_KEYS = ("resource_changes", "resource_drift", "summary", "cost", "stack", "destroy")


def by_address(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["address"]: c for c in doc["resource_changes"]}


def test_plan_json_is_one_document_with_actions_redaction_and_cost(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(secret="js0n-s3cret"))
    planned = workspace.vastplan("plan", "--json", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "js0n-s3cret" not in planned.text
    doc = document(planned)
    changes = by_address(doc)
    assert set(changes) == ADDRESSES
    torch = changes["templates.torch"]
    assert (torch["kind"], torch["name"], torch["index"]) == ("template", "torch", None)
    assert torch["change"]["actions"] == ["create"] and torch["change"]["before"] is None
    assert torch["change"]["after"]["env"] == {"TOKEN": "(sensitive)", "TZ": "UTC"}
    assert torch["action_reason"] == "not in state" and torch["replace_paths"] == []
    assert doc["summary"] == {"add": 3, "change": 0, "destroy": 0}
    assert doc["cost"] == {"dph_before": 0.0, "dph_after": 0.0}
    assert doc["resource_drift"] == [] and doc["output_changes"] == {}
    assert doc["diagnostics"] == [] and doc["errors"] == 0

    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(skeleton_stack(image="vllm/vllm-openai", secret="js0n-s3cret-2"))
    edited = document(workspace.vastplan("plan", "--json"))
    changes = by_address(edited)
    assert changes["templates.torch"]["change"]["actions"] == ["update"]
    fields = {f["path"]: f for f in changes["templates.torch"]["change"]["fields"]}
    assert (fields["image"]["before"], fields["image"]["after"]) == ("pytorch/pytorch", "vllm/vllm-openai")
    assert fields["env.TOKEN"]["before"] == fields["env.TOKEN"]["after"] == "(sensitive)"
    assert changes["ssh_keys.laptop"]["change"]["actions"] == ["no-op"]
    assert "js0n-s3cret" not in json.dumps(edited)


def test_plan_json_prices_each_change_and_the_total(workspace: Workspace) -> None:
    workspace.write(small_stack())
    doc = document(workspace.vastplan("plan", "--json"))
    box = by_address(doc)["instances.box"]
    assert box["change"]["actions"] == ["create"] and box["dph_after"] > 0
    assert doc["cost"]["dph_after"] == round(sum(c["dph_after"] for c in doc["resource_changes"]), 6)


def test_a_sensitive_variable_inside_a_list_is_redacted(workspace: Workspace) -> None:
    workspace.write("""
version: 1
stack: lists
variables:
  token: {sensitive: true, default: "l1st-s3cret"}
templates:
  torch:
    image: pytorch/pytorch
    args: ["--token", "${var.token}"]
""")
    planned = workspace.vastplan("plan", "--json")
    assert planned.code == 0, planned.text
    assert "l1st-s3cret" not in planned.out
    assert by_address(document(planned))["templates.torch"]["change"]["after"]["args"] == ["--token", "(sensitive)"]


def test_apply_and_destroy_json_stream_events(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(secret="str3am-s3cret"))
    applied = workspace.vastplan("apply", "--json", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "str3am-s3cret" not in applied.text and applied.err == ""
    stream = events(applied)
    types = [e["type"] for e in stream]
    planned = {e["change"]["address"]: e["change"] for e in stream if e["type"] == "planned_change"}
    assert set(planned) == ADDRESSES and all(c["change"]["actions"] == ["create"] for c in planned.values())
    for kind in ("apply_start", "apply_complete"):
        done = {e["resource"]["address"]: e for e in stream if e["type"] == kind}
        assert set(done) == ADDRESSES and all(e["action"] == "create" for e in done.values())
    assert all(isinstance(e["id"], int) for e in stream if e["type"] == "apply_complete")
    assert max(types.index("planned_change"), types.index("change_summary")) < types.index("apply_start")
    last = stream[-1]
    assert last["type"] == "change_summary" and types.count("change_summary") == 2
    assert last["changes"] == {"add": 3, "change": 0, "destroy": 0, "operation": "apply"}
    assert last["cost"] == {"dph_before": 0.0, "dph_after": 0.0}

    destroyed = events(workspace.vastplan("destroy", "--json", "--auto-approve"))
    assert {e["action"] for e in destroyed if e["type"] == "apply_start"} == {"delete"}
    assert destroyed[-1]["changes"] == {"add": 0, "change": 0, "destroy": 3, "operation": "destroy"}


def test_a_failed_change_is_apply_errored_then_diagnostics(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(keys=()))
    admin(workspace, "POST", "/faults", {"status": 400, "route": "POST /api/v0/template*", "count": 1})
    failed = workspace.vastplan("apply", "--json", "--auto-approve")
    assert failed.code == 1, failed.text
    stream = events(failed)
    errored = [e for e in stream if e["type"] == "apply_errored"]
    assert [e["resource"]["address"] for e in errored] == ["templates.torch"] and errored[0]["@level"] == "error"
    diags = [e["diagnostic"] for e in stream if e["type"] == "diagnostic"]
    assert diags[0]["address"] == "templates.torch" and diags[0]["severity"] == "error"
    assert diags[-1]["summary"].startswith("Apply failed: 1 error.")


def test_a_bad_stack_gives_diagnostics_with_file_line_and_column(workspace: Workspace) -> None:
    workspace.write("""version: 1
stack: broken
templates:
  torch:
    image: pytorch/pytorch
    ports: [-4]
""")
    validated = workspace.vastplan("validate", "--json")
    assert validated.code == 1 and validated.err == ""
    diag = next(e["diagnostic"] for e in events(validated) if e["type"] == "diagnostic")
    assert diag["severity"] == "error" and diag["address"] == "templates.torch.ports[0]"
    assert diag["range"] == {"filename": str(workspace.stack), "start": {"line": 6, "column": 13}}

    planned = workspace.vastplan("plan", "--json")
    assert planned.code == 1
    doc = document(planned)
    assert doc["errors"] == 1 and doc["diagnostics"] == [diag] and "resource_changes" not in doc


def test_flag_errors_come_out_as_json(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    planned = workspace.vastplan("plan", "--json", "--bogus")
    assert planned.code == 1 and planned.err == ""
    assert "--bogus" in document(planned)["diagnostics"][0]["summary"]

    bad_var = workspace.vastplan("apply", "--json", "--auto-approve", "--var", "novalue")
    assert bad_var.code == 1
    assert [e["type"] for e in events(bad_var)] == ["version", "diagnostic"]

    unapproved = workspace.vastplan("apply", "--json")
    assert unapproved.code == 1 and not workspace.state_path.exists()
    summary = events(unapproved)[-1]["diagnostic"]["summary"]
    assert "--json needs --auto-approve" in summary


def test_show_json_of_a_saved_plan_is_the_saved_plan(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(secret="sh0w-s3cret"))
    assert workspace.vastplan("plan", "--out", "stack.plan").code == 0
    saved = json.loads((workspace.root / "stack.plan").read_text())

    shown = workspace.vastplan("show", "stack.plan", "--json", stack=False)
    assert shown.code == 0, shown.text
    doc = document(shown)
    assert {k: doc[k] for k in PLAN_KEYS} == {k: saved[k] for k in PLAN_KEYS}
    assert "sh0w-s3cret" not in shown.text

    human = workspace.vastplan("show", "stack.plan", stack=False)
    assert 'template "torch"' in human.out and "Plan: 3 to add, 0 to change, 0 to destroy." in human.out

    applied = workspace.vastplan("apply", "stack.plan", "--json", stack=False)  # a saved plan needs no approval
    assert applied.code == 0, applied.text
    assert events(applied)[-1]["changes"] == {"add": 3, "change": 0, "destroy": 0, "operation": "apply"}


def test_an_instance_streams_progress_and_a_replacement_is_delete_create(workspace: Workspace) -> None:
    workspace.write(small_stack())
    applied = workspace.vastplan("apply", "--json", "--auto-approve")
    assert applied.code == 0, applied.text
    stream = events(applied)
    progress = [e for e in stream if e["type"] == "apply_progress"]
    assert progress and all(e["resource"]["address"] == "instances.box" and e["message"] for e in progress)
    summary = [e for e in stream if e["type"] == "change_summary"]
    assert summary[0]["cost"]["dph_after"] > 0
    assert abs(summary[-1]["cost"]["dph_after"] - summary[0]["cost"]["dph_after"]) < 1e-3

    workspace.write(small_stack().replace("image: ubuntu", "image: ubuntu\n    disk_gb: 64"))
    box = by_address(document(workspace.vastplan("plan", "--json")))["instances.box"]
    assert box["change"]["actions"] == ["delete", "create"] and box["replace_paths"] == ["disk_gb"]
    assert box["dph_before"] > 0 and box["resource_id"] is not None
