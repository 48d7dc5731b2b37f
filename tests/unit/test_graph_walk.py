from __future__ import annotations

import asyncio

import pytest

from vastplan.apply.dag.graph import CycleError, Graph
from vastplan.apply.dag.walk import walk


def test_topological_order_respects_edges() -> None:
    g = Graph(["c", "a", "b"])
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    assert g.topological_order() == ["a", "b", "c"]


def test_a_cycle_is_reported_readably() -> None:
    g = Graph()
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", "a")
    with pytest.raises(CycleError) as caught:
        g.topological_order()
    assert str(caught.value) == "dependency cycle: a -> b -> c -> a"  # from its least node, along the edges


def test_dot_lists_nodes_and_edges() -> None:
    g = Graph()
    g.add_edge("templates.t", "instances.i")
    assert '"templates.t" -> "instances.i";' in g.to_dot()


def test_walk_runs_independent_nodes_concurrently_within_the_bound() -> None:
    g = Graph([f"n{i}" for i in range(6)])
    active = 0
    peak = 0

    async def run(node: str) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1

    result = asyncio.run(walk(g, run, parallelism=3))
    assert sorted(result.succeeded) == [f"n{i}" for i in range(6)]
    assert peak == 3


def test_walk_skips_the_dependents_of_a_failure_and_blames_it_once() -> None:
    g = Graph(["other"])
    g.add_edge("base", "mid")
    g.add_edge("mid", "top")
    order: list[str] = []

    async def run(node: str) -> None:
        order.append(node)
        if node == "base":
            raise RuntimeError("boom")

    result = asyncio.run(walk(g, run, parallelism=4))
    assert set(result.failed) == {"base"}
    assert result.skipped == {"mid": "base", "top": "base"}
    assert "other" in result.succeeded and "mid" not in order


def test_a_node_that_only_waits_gives_its_slot_back() -> None:
    from vastplan.apply.dag.walk import slot_released

    g = Graph([f"n{i}" for i in range(4)])
    waiting = 0
    peak = 0

    async def run(node: str) -> None:
        nonlocal waiting, peak
        async with slot_released():
            waiting += 1
            peak = max(peak, waiting)
            await asyncio.sleep(0.02)
            waiting -= 1

    result = asyncio.run(walk(g, run, parallelism=1))
    assert len(result.succeeded) == 4
    assert peak == 4  # all four waited at once although only one may work at a time


def test_nodes_ready_together_go_in_the_order_the_builder_gives() -> None:
    def natural(node: str) -> tuple[str, int]:
        name, _, index = node.partition("[")
        return name, int(index.rstrip("]") or -1)

    g = Graph([f"w[{i}]" for i in (10, 2, 1)], key=natural)
    g.add_edge("w[10]", "z")
    assert g.topological_order() == ["w[1]", "w[2]", "w[10]", "z"]
    started: list[str] = []

    async def run(node: str) -> None:
        started.append(node)
        await asyncio.sleep(0)

    asyncio.run(walk(g, run, parallelism=1))
    assert started == ["w[1]", "w[2]", "w[10]", "z"]
