from __future__ import annotations

import pytest

from vastplan.addresses import Address, matching, sort_key
from vastplan.errors import UsageError
from vastplan.plan.model import Action, FieldChange, ResourceChange, change_to_json


def test_an_address_is_parsed_once_into_its_parts_and_spelled_back() -> None:
    address = Address.parse("instances.server[12]")
    assert (address.collection, address.name, address.index, address.deposed) == ("instances", "server", 12, False)
    assert address.base == "instances.server" and address.short == "server[12]"
    assert str(address) == "instances.server[12]"
    assert str(Address.parse("templates.vllm")) == "templates.vllm"
    deposed = Address.parse("instances.a[0]~deposed")
    assert deposed.deposed and deposed.index == 0 and str(deposed) == "instances.a[0]~deposed"


@pytest.mark.parametrize("text", ["server", "instances.", "instances.a[x]", "instances.a[1", "Instances.a", ""])
def test_what_is_not_an_address_is_refused_with_what_one_looks_like(text: str) -> None:
    assert Address.find(text) is None
    with pytest.raises(UsageError, match="is not an address: expected COLLECTION.NAME"):
        Address.parse(text)


def test_natural_order_puts_2_before_10_and_the_bare_address_first() -> None:
    texts = ["instances.w[10]", "instances.w[2]", "instances.w", "instances.w[1]", "garbage", "instances.v[3]"]
    assert sorted(texts, key=sort_key) == ["instances.v[3]", "instances.w", "instances.w[1]", "instances.w[2]",
                                           "instances.w[10]", "garbage"]


def test_a_pattern_without_an_index_names_every_index_and_the_deposed_objects() -> None:
    addresses = ["instances.w[0]", "instances.w[1]", "instances.w[1]~deposed", "instances.ww[0]", "volumes.w"]
    assert matching(addresses, "instances.w") == ["instances.w[0]", "instances.w[1]", "instances.w[1]~deposed"]
    assert matching(addresses, "instances.w[1]") == ["instances.w[1]", "instances.w[1]~deposed"]
    assert matching(addresses, "instances.w[1]~deposed") == ["instances.w[1]~deposed"]
    assert matching(addresses, "instances.w[2]") == []
    with pytest.raises(UsageError):
        matching(addresses, "w[1]")


def test_the_plan_json_redacts_a_field_holding_a_sensitive_list_item() -> None:
    change = ResourceChange("templates.t", "template", Action.UPDATE, after={"args": ["--token", "s3cret"]},
                            before={"args": ["--token", "old"]}, sensitive_paths=frozenset({"args[1]"}),
                            fields=(FieldChange("args", ["--token", "old"], ["--token", "s3cret"]),))
    doc = change_to_json(change)
    assert "s3cret" not in str(doc) and "old" not in str(doc)
    assert doc["change"]["after"] == {"args": ["--token", "(sensitive)"]}
    assert doc["change"]["fields"][0]["sensitive"] is True
    assert (doc["name"], doc["index"]) == ("t", None)
