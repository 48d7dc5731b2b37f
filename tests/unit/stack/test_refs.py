"""The reference grammar and the generic cycle check (no stack can form a cycle today)."""

from __future__ import annotations

from vastplan.apply.dag.graph import find_cycle
from vastplan.stack.refs import Reference, output_problems, parse_reference, references

COUNTS: dict[str, dict[str, int | None]] = {
    "ssh_keys": {},
    "templates": {"vllm": None},
    "volumes": {},
    "instances": {"server": 2, "db": None},
}


def test_parse_reference_forms() -> None:
    assert parse_reference("instances.server[*].ssh_url") == Reference(
        "instances", "server", "*", "ssh_url", "${instances.server[*].ssh_url}"
    )
    assert parse_reference(" instances.server[1].ssh_url ") is not None
    assert parse_reference("templates.vllm.id") == Reference("templates", "vllm", None, "id", "${templates.vllm.id}")
    assert parse_reference("instances.server") is None
    assert parse_reference("var.x") is None


def test_references_skip_escapes_and_variables() -> None:
    found = list(references("$${instances.a.b} ${var.x} ${instances.db.public_ip}:${templates.vllm.id}"))
    assert [r.base for r in found] == ["instances.db", "templates.vllm"]


def test_output_problems() -> None:
    assert output_problems("${instances.server[1].ssh_url} ${instances.db.ip}", COUNTS) == []
    assert output_problems("${templates.vlm.id}", COUNTS) == [
        'unknown reference ${templates.vlm.id}: no template named "vlm" (did you mean "vllm"?)'
    ]
    assert "has count 2" in output_problems("${instances.server.ip}", COUNTS)[0]
    assert "has no count" in output_problems("${instances.db[0].ip}", COUNTS)[0]
    assert "out of range" in output_problems("${instances.server[2].ip}", COUNTS)[0]


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"x": ["y"], "y": [], "a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    chain = {str(i): [str(i + 1)] for i in range(5000)}
    chain["5000"] = ["0"]
    cycle = find_cycle(chain)
    assert cycle is not None and len(cycle) == 5002
