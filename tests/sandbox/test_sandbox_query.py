"""The filter language, evaluated on plain records (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Api

from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import matches, parse_filters, parse_order, select_columns, sort_records

OFFER: dict[str, Any] = {"id": 7, "num_gpus": 1, "gpu_name": "RTX 4090", "gpu_ram": 24564, "dph_total": 0.41,
                         "verified": True, "geolocation": "California, US", "cuda_max_good": 12.4,
                         "driver_version": "550.127.05", "rentable": True}


@pytest.mark.parametrize(("query", "expected"), [
    ({"num_gpus": {"eq": "1"}}, True),
    ({"num_gpus": {"eq": "2"}}, False),
    ({"gpu_name": {"eq": "RTX 4090"}}, True),
    ({"gpu_name": {"eq": "RTX_4090"}}, True),
    ({"gpu_name": {"in": ["RTX 3090", "RTX 4090"]}}, True),
    ({"gpu_name": {"notin": ["RTX 4090"]}}, False),
    ({"gpu_ram": {"gte": 20000.0}}, True),
    ({"dph_total": {"lt": "0.4"}}, False),
    ({"dph_total": {"lte": "0.41", "gt": 0.1}}, True),
    ({"cuda_max_good": {"gte": "12.1"}}, True),
    ({"verified": {"eq": True}}, True),
    ({"verified": {"eq": "false"}}, False),
    ({"geolocation": {"in": ["US", "CA"]}}, True),
    ({"geolocation": {"notin": ["US"]}}, False),
    ({"geolocation": {"eq": "California, US"}}, True),
    ({"geolocation": {"neq": "DE"}}, True),
    ({"driver_version": {"gte": 535086005}}, True),
    ({"driver_version": {"lt": 535086005}}, False),
    ({"rented": {"eq": False}}, False),       # missing field reads as null
    ({"rented": {"neq": True}}, True),
    ({"num_gpus": 1}, True),                   # bare value means eq
])
def test_terms(query: dict[str, Any], expected: bool) -> None:
    assert matches(OFFER, parse_filters(query)) is expected


def test_control_keys_are_not_filters() -> None:
    assert parse_filters({"order": [["dph_total", "asc"]], "limit": 3, "type": "bid", "x": {"eq": 1}}) == {
        "x": {"eq": 1}}


def test_unknown_operator_is_400() -> None:
    with pytest.raises(Refusal) as info:
        parse_filters({"x": {"like": "a"}})
    assert info.value.status == 400


@pytest.mark.parametrize(("query", "shown"), [
    ({"num_gpus": {"gte": "abc"}}, '"abc"'),
    ({"dph_total": {"lte": "cheap"}}, '"cheap"'),
    ({"gpu_ram": {"gte": None}}, "null"),
    ({"num_gpus": {"in": ["x"]}}, '"x"'),
])
def test_a_malformed_number_in_an_offer_query_is_400(api: Api, query: dict[str, Any], shown: str) -> None:
    answer = api.post("/api/v0/bundles/", query)
    assert answer.status == 400
    assert answer.json == {"success": False, "error": "invalid_request",
                           "msg": f"Invalid args: {shown} is not a number."}


def test_order_both_spellings_and_null_last() -> None:
    rows = [{"id": 1, "p": 2.0}, {"id": 2, "p": None}, {"id": 3, "p": 1.0}, {"id": 4, "p": 2.0}]
    assert [r["id"] for r in sort_records(rows, parse_order([["p", "asc"]]))] == [3, 1, 4, 2]
    assert [r["id"] for r in sort_records(rows, parse_order([{"col": "p", "dir": "desc"}]))] == [1, 4, 3, 2]


def test_select_columns() -> None:
    assert select_columns(OFFER, ["*"]) == OFFER
    assert select_columns(OFFER, ["id", "nope"]) == {"id": 7, "nope": None}
