"""The seeded marketplace and offer search (vast-api.md sections 3 and 5)."""

from __future__ import annotations

from typing import Any

from conftest import Api

from vastsandbox.world.market import Market, bundle_sizes

DEFAULTS: dict[str, Any] = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}}
OFFER_FIELDS = ("id", "ask_contract_id", "bundle_id", "machine_id", "host_id", "num_gpus", "gpu_name", "gpu_ram",
                "gpu_total_ram", "compute_cap", "cuda_max_good", "driver_version", "cpu_cores", "cpu_ram",
                "disk_space", "inet_up", "inet_down", "dph_base", "dph_total", "min_bid", "storage_cost",
                "reliability", "reliability2", "geolocation", "verification", "datacenter", "rentable", "rented",
                "dlperf", "score", "duration", "direct_port_count", "public_ipaddr", "total_flops")


def search(api: Api, **body: Any) -> list[dict[str, Any]]:
    answer = api.post("/api/v0/bundles/", body)
    assert answer.status == 200, answer.raw
    assert answer.headers["Content-Type"] == "application/json"
    offers: list[dict[str, Any]] = answer.json["offers"]
    return offers


def test_default_market_is_large_and_varied() -> None:
    market = Market(0, 60)
    offers = list(market.offers(0.0, 5.0, "on-demand"))
    assert len(offers) >= 200
    assert len({o["gpu_name"] for o in offers}) >= 10
    assert {"RTX 4090", "H100 SXM", "A100 SXM4", "RTX 3090", "L40S"} <= {o["gpu_name"] for o in offers}


def test_same_seed_same_market_and_more_machines_keep_the_first() -> None:
    first = [o["id"] for o in Market(3, 20).offers(0.0, 5.0, "on-demand")]
    assert first == [o["id"] for o in Market(3, 20).offers(0.0, 5.0, "on-demand")]
    bigger = [o["id"] for o in Market(3, 40).offers(0.0, 5.0, "on-demand")]
    assert bigger[:len(first)] == first
    assert first != [o["id"] for o in Market(4, 20).offers(0.0, 5.0, "on-demand")]


def test_bundles_follow_powers_of_two() -> None:
    assert bundle_sizes(8) == [1, 2, 4, 8]
    assert bundle_sizes(6) == [1, 2, 4, 6]
    assert bundle_sizes(1) == [1]
    assert bundle_sizes(0) == []


def test_offers_carry_every_field(api: Api) -> None:
    offer = search(api, limit=1)[0]
    missing = [f for f in OFFER_FIELDS if f not in offer]
    assert missing == []
    assert offer["gpu_ram"] > 8000  # MB
    assert "," in offer["geolocation"]


def test_wire_example_query(api: Api) -> None:
    body = {**DEFAULTS, "gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"eq": "1"}, "gpu_ram": {"gte": 20000.0},
            "cuda_max_good": {"gte": "12.1"}, "geolocation": {"in": ["US", "CA", "DE", "NL", "GB", "PL", "FR"]},
            "dph_total": {"lt": "1.5"}, "order": [["dph_total", "asc"]], "type": "on-demand", "limit": 5,
            "allocated_storage": 5.0}
    offers = search(api, **body)
    assert 1 <= len(offers) <= 5
    prices = [o["dph_total"] for o in offers]
    assert prices == sorted(prices)
    for offer in offers:
        assert offer["gpu_name"] == "RTX 4090" and offer["num_gpus"] == 1 and offer["verified"]
        assert offer["geolocation"].rsplit(", ", 1)[1] in body["geolocation"]["in"]
        assert offer["cuda_max_good"] >= 12.1 and offer["dph_total"] < 1.5


def test_notin_geolocation_and_descending_order(api: Api) -> None:
    offers = search(api, geolocation={"notin": ["US"]}, order=[["num_gpus", "desc"]])
    assert offers and all(not o["geolocation"].endswith(", US") for o in offers)
    counts = [o["num_gpus"] for o in offers]
    assert counts == sorted(counts, reverse=True)


def test_allocated_storage_raises_dph_total(api: Api) -> None:
    small = {o["id"]: o["dph_total"] for o in search(api, allocated_storage=5.0)}
    large = {o["id"]: o["dph_total"] for o in search(api, allocated_storage=500.0)}
    assert all(large[i] > small[i] for i in small)


def test_bid_type_prices_at_min_bid_and_ondemand_spelling(api: Api) -> None:
    demand = {o["id"]: o for o in search(api, type="on-demand")}
    alias = {o["id"]: o["dph_total"] for o in search(api, type="ondemand")}
    bids = search(api, type="bid")
    assert alias == {i: o["dph_total"] for i, o in demand.items()}
    for offer in bids:
        assert offer["is_bid"] is True
        assert offer["dph_total"] < demand[offer["id"]]["dph_total"]


def test_default_filters_exclude_unverified(api: Api) -> None:
    everything = search(api)
    defaults = search(api, **DEFAULTS)
    assert len(defaults) < len(everything)
    assert all(o["verified"] and o["rentable"] and not o["external"] for o in defaults)


def test_new_search_endpoint_and_score_default_order(api: Api) -> None:
    answer = api.put("/api/v0/search/asks/", {"select_cols": ["*"], "q": {**DEFAULTS, "limit": 10}})
    offers = answer.json["offers"]
    assert len(offers) == 10
    scores = [o["score"] for o in offers]
    assert scores == sorted(scores, reverse=True)


def test_gpu_names_match_the_market(api: Api) -> None:
    names = set(api.get("/api/v0/gpu_names/unique/").json["gpu_names"])
    assert {o["gpu_name"] for o in search(api)} <= names
