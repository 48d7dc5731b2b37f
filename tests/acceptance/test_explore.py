"""offers and graph: looking without changing anything."""

from __future__ import annotations

import json

from tests.harness import Workspace, gpu_stack


def test_offers_searches_with_the_stack_filter_syntax(workspace: Workspace) -> None:
    result = workspace.vastplan("offers", "{gpu_name: RTX 4090, num_gpus: 1, geolocation: [US]}", "--json",
                                "--limit", "5", stack=False)
    assert result.code == 0, result.text
    rows = json.loads(result.out)
    assert 0 < len(rows) <= 5
    assert all(r["gpu_name"] == "RTX 4090" and r["num_gpus"] == 1 and r["geolocation"].endswith("US")
               for r in rows)
    prices = [r["dph_total"] for r in rows]
    assert prices == sorted(prices)  # cheapest first, as placement chooses
    table = workspace.vastplan("offers", "{gpu_name: RTX 4090}", "--limit", "2", stack=False)
    assert "offer" in table.out and "RTX 4090" in table.out
    bad = workspace.vastplan("offers", "[not, a, mapping]", stack=False)
    assert bad.code == 1 and "FILTERS must be a mapping" in bad.err


def test_graph_draws_the_dependencies_in_dot(workspace: Workspace) -> None:
    workspace.write(gpu_stack())
    result = workspace.vastplan("graph")
    assert result.code == 0 and result.out.startswith("digraph vastplan {")
    assert '"volumes.data" -> "instances.worker";' in result.out
    assert '"templates.torch" -> "instances.worker";' in result.out
