from __future__ import annotations

from vastplan.api.offers import offer_query, order_clause


def test_bare_values_take_the_natural_comparison_and_units() -> None:
    query = offer_query({"gpu_name": "RTX 4090", "num_gpus": 2, "gpu_ram_gb": 24, "dph_total": 0.6,
                         "geolocation": ["US", "CA"]})
    assert query["gpu_name"] == {"eq": "RTX 4090"}
    assert query["num_gpus"] == {"eq": 2}
    assert query["gpu_ram"] == {"gte": 24000.0}
    assert query["dph_total"] == {"lte": 0.6}
    assert query["geolocation"] == {"in": ["US", "CA"]}
    assert query["rentable"] == {"eq": True} and query["rented"] == {"eq": False}


def test_operators_lists_and_raw_pass_through() -> None:
    query = offer_query({"reliability": {"gte": 0.98}, "gpu_name": ["RTX 4090", "RTX 3090"], "verified": False,
                         "raw": {"pci_gen": {"gte": 4}, "static_ip": True}})
    assert query["reliability"] == {"gte": 0.98}
    assert query["gpu_name"] == {"in": ["RTX 4090", "RTX 3090"]}
    assert query["verified"] == {"eq": False}
    assert query["pci_gen"] == {"gte": 4} and query["static_ip"] == {"eq": True}


def test_order_defaults_to_price_and_minus_is_descending() -> None:
    assert order_clause(None) == [["dph_total", "asc"]]
    assert order_clause(["-reliability", "price"]) == [["reliability", "desc"], ["dph_total", "asc"]]
