"""The registry is the one list of kinds: the checked-in schemas (what editors and the state check
read) agree with what each kind declares, and every kind declares everything the core asks of it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from vastplan.kinds import BY_COLLECTION, KINDS
from vastplan.kinds.base import ResourceKind

ROOT = Path(__file__).resolve().parents[2]
DECLARED = ("kind", "collection", "schema_definition", "noun", "singular", "plural", "with_article")


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "schemas" / name).read_text())
    return loaded


def _collections_in(stack_schema: dict[str, Any]) -> dict[str, str]:
    """Top-level key -> the ``$defs`` entry its blocks follow, for every key that holds named blocks."""
    found = {}
    for key, body in stack_schema["properties"].items():
        blocks = body.get("additionalProperties") if isinstance(body, dict) else None
        ref = blocks.get("$ref", "") if isinstance(blocks, dict) else ""
        if ref.startswith("#/$defs/") and body.get("propertyNames"):
            found[key] = ref.removeprefix("#/$defs/")
    return found


def test_the_stack_schema_has_one_collection_per_kind_in_registry_order() -> None:
    stack_schema = schema("stack.schema.json")
    assert _collections_in(stack_schema) == {k.collection: k.schema_definition for k in KINDS.values()}
    assert [key for key in stack_schema["properties"] if key in BY_COLLECTION] == list(BY_COLLECTION)
    for kind in KINDS.values():
        assert stack_schema["$defs"][kind.schema_definition]["type"] == "object"


def test_the_state_schema_knows_exactly_the_registered_kinds_and_collections() -> None:
    state_schema = schema("state.schema.json")
    assert state_schema["$defs"]["resource"]["properties"]["kind"]["enum"] == list(KINDS)
    pattern = state_schema["properties"]["resources"]["propertyNames"]["pattern"]
    alternatives = re.match(r"^\^\((?P<names>[a-z_|]+)\)", pattern)
    assert alternatives is not None, pattern
    assert alternatives["names"].split("|") == list(BY_COLLECTION)


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))
def test_every_kind_declares_its_words_and_its_stack_block(kind: ResourceKind) -> None:
    for name in DECLARED:
        assert isinstance(getattr(kind, name), str) and getattr(kind, name), name
    assert KINDS[kind.kind] is kind and BY_COLLECTION[kind.collection] is kind
    assert "id" in kind.recorded_attributes
    assert kind.has_logs == (type(kind).request_logs is not ResourceKind.request_logs)
