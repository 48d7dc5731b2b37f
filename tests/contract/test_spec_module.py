"""The spec judge itself: matching requests to operations, reading queries and bodies as the API does,
and the allowances, checked against what the official CLI's own payload builders produce."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from vastai.api.instances import build_create_instance_payload

from vastsandbox.http.spec import SPEC_FILE, Allowance, Spec, body_pointer, load_document, param_pointer, vast_spec

TINY: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/things/{name}": {"get": {"operationId": "byName", "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]}},
        "/things/all": {"get": {"operationId": "all", "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 25}},
            {"name": "select_filters", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}},
            }}}}}}},
        "/things/{id}/stop": {"put": {"operationId": "stop", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"],
                "properties": {"reason": {"type": "string"}, "force": {"type": "boolean"}}}}}}}},
    },
    "components": {"schemas": {"Row": {"type": "object", "properties": {"id": {"type": "integer"}}}}},
}


def test_paths_match_with_or_without_slash_and_literal_paths_win() -> None:
    spec = Spec(TINY)
    assert spec.find("GET", "/things/all/").operation_id == "all"  # type: ignore[union-attr]
    assert spec.find("GET", "/things/all").operation_id == "all"  # type: ignore[union-attr]
    assert spec.find("GET", "/things/gpu-box").operation_id == "byName"  # type: ignore[union-attr]
    assert spec.find("PUT", "/things/12/stop/").operation_id == "stop"  # type: ignore[union-attr]
    assert spec.find("PUT", "/things/twelve/stop") is None  # integer ids are digits
    assert spec.find("DELETE", "/things/all") is None
    assert spec.find_template("PUT", "/things/{id}/stop/").operation_id == "stop"  # type: ignore[union-attr]


def test_query_values_are_read_as_the_wire_sends_them() -> None:
    spec = Spec(TINY)
    op = spec.find("GET", "/things/all")
    assert op is not None
    assert spec.request_problems(op, {"select_filters": '{"id": {"eq": 1}}', "limit": "25"}, {}) == []
    assert spec.request_problems(op, {"limit": "26"}, {}) == [
        "query.limit: 26 is greater than the maximum of 25",
        "query.select_filters: required query parameter is missing"]
    assert spec.request_problems(op, {"select_filters": "{}", "limit": "many"}, {}) == [
        "query.limit: 'many' is not of type 'integer'"]


def test_a_null_option_reads_as_absent_but_a_null_requirement_does_not() -> None:
    spec = Spec(TINY)
    op = spec.find("PUT", "/things/1/stop")
    assert op is not None
    assert spec.request_problems(op, {}, {"reason": "done", "force": None}) == []
    assert spec.request_problems(op, {}, {"reason": None}) == ["body.reason: None is not of type 'string'"]
    assert spec.request_problems(op, {}, {}) == ["body: 'reason' is a required property"]


def test_answers_are_judged_for_their_status_with_components_resolved() -> None:
    spec = Spec(TINY)
    op = spec.find("GET", "/things/all")
    assert op is not None
    assert spec.response_problems(op, 200, {"rows": [{"id": 1}]}) == []
    assert spec.response_problems(op, 200, {"rows": [{"id": "1"}]}) == ["body.rows[0].id: '1' is not of type 'integer'"]
    assert spec.response_problems(op, 418, {}) == ["status 418 is not documented for GET /things/all"]


def test_an_allowance_widens_one_schema_and_keeps_the_original() -> None:
    pointer = body_pointer("/things/{id}/stop", "put")
    spec = Spec(TINY, [Allowance(pointer, optional=("reason",)),
                       Allowance(body_pointer("/things/{id}/stop", "put", "force"), also={"enum": ["yes", "no"]})])
    op = spec.find("PUT", "/things/1/stop")
    assert op is not None
    assert spec.request_problems(op, {}, {"force": "yes"}) == []
    assert spec.request_problems(op, {}, {"force": True}) == []
    assert spec.request_problems(op, {}, {"force": "maybe"}) != []
    assert Spec(TINY).request_problems(op, {}, {"force": "yes"}) != []  # the document itself is untouched


def test_an_allowance_at_a_parameter_found_by_name() -> None:
    spec = Spec(TINY, [Allowance(param_pointer("/things/all", "get", "select_filters"), optional=("select_filters",)),
                       Allowance(param_pointer("/things/all", "get", "limit", schema=True), also={"const": "all"})])
    op = spec.find("GET", "/things/all")
    assert op is not None
    assert spec.request_problems(op, {"limit": '"all"'}, {}) == []
    assert spec.request_problems(op, {"limit": "26"}, {}) == [
        "query.limit: 26 is not valid under any of the given schemas"]


def test_a_null_query_option_reads_as_absent_but_a_null_requirement_does_not() -> None:
    op = Spec(TINY).find("GET", "/things/all")
    assert op is not None
    assert Spec(TINY).request_problems(op, {"select_filters": "{}", "limit": "null"}, {}) == []
    assert Spec(TINY).request_problems(op, {"select_filters": "null"}, {}) == []  # text: "null" is a string


def test_a_path_parameter_widened_to_text_matches_text() -> None:
    earnings = "/api/v0/users/{user_id}/machine-earnings"
    assert Spec(load_document()).find("GET", "/api/v0/users/me/machine-earnings") is None
    assert vast_spec().find("GET", "/api/v0/users/me/machine-earnings/").path == earnings  # type: ignore[union-attr]
    assert vast_spec().find("GET", "/api/v0/users/40002/machine-earnings").path == earnings  # type: ignore[union-attr]


def create_instance_problems(body: dict[str, Any]) -> list[str]:
    spec = vast_spec()
    op = spec.find("PUT", "/api/v0/asks/4000385/")
    assert op is not None and op.operation_id == "createInstance"
    return spec.request_problems(op, {}, body)


def test_the_official_clis_create_bodies_conform_with_the_allowances() -> None:
    from_template = build_create_instance_payload(template_hash="4e17788f74f075dd9aab7d0d4427968f", disk=20)
    direct_ssh = build_create_instance_payload(image="pytorch/pytorch", env="-e A=1 -p 8080:8080", ssh=True,
                                               direct=True, price=0.3, label="trainer", onstart_cmd="echo up")
    with_args = build_create_instance_payload(image="vllm/vllm-openai", args=["--model", "x"])
    assert direct_ssh["runtype"] == "ssh_direc ssh_proxy" and isinstance(direct_ssh["env"], dict)
    for body in (from_template, direct_ssh, with_args):
        assert create_instance_problems(body) == []


def test_what_the_spec_still_refuses_in_a_create_body() -> None:
    assert create_instance_problems({"image": "x", "price": 500.0}) == [
        "body.price: 500.0 is greater than the maximum of 128.0"]
    assert create_instance_problems({"image": "x", "disk": "big"}) == ["body.disk: 'big' is not of type 'number'"]
    assert create_instance_problems({"image": 7}) == ["body.image: 7 is not of type 'string'"]


def test_the_spec_copy_is_the_published_one() -> None:
    readme = (SPEC_FILE.parent / "README.md").read_text()
    recorded = re.search(r"sha256 `([0-9a-f]{64})`", readme)
    assert recorded is not None
    assert hashlib.sha256(SPEC_FILE.read_bytes()).hexdigest() == recorded.group(1)
