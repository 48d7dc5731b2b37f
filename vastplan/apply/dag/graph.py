"""A directed acyclic graph of named nodes on the standard library's ``graphlib``, and the one cycle
finder of vastplan. Knows nothing about Vast.ai or resources: whoever builds a graph gives the sort
key that orders nodes ready at the same time (natural address order, for the executor)."""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from vastplan.errors import CycleError

__all__ = ["CycleError", "Graph"]


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``edges`` (node -> the nodes it points to) as ``[a, b, ..., a]``, following the
    edges and starting at the cycle's least node; None when there is none."""
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as exc:
        # graphlib reads ``edges`` as predecessors, so it lists the cycle against their direction.
        ring = list(reversed(exc.args[1]))[:-1]
        start = ring.index(min(ring))
        return [*ring[start:], *ring[:start], ring[start]]
    return None


class Graph:
    """``add_edge(a, b)`` means a must finish before b starts. ``key`` orders nodes that are ready
    together (and the listing of nodes); by default their text."""

    def __init__(self, nodes: Iterable[str] = (), key: Callable[[str], Any] | None = None):
        self._after: dict[str, set[str]] = {}
        self._before: dict[str, set[str]] = {}
        self._key: Callable[[str], Any] = key or str
        for node in nodes:
            self.add_node(node)

    def add_node(self, node: str) -> None:
        self._after.setdefault(node, set())
        self._before.setdefault(node, set())

    def add_edge(self, first: str, then: str) -> None:
        if first == then:
            return
        self.add_node(first)
        self.add_node(then)
        self._after[first].add(then)
        self._before[then].add(first)

    def ordered(self, nodes: Iterable[str]) -> list[str]:
        return sorted(nodes, key=self._key)

    @property
    def nodes(self) -> list[str]:
        return self.ordered(self._after)

    def predecessors(self, node: str) -> set[str]:
        return set(self._before[node])

    def successors(self, node: str) -> set[str]:
        return set(self._after[node])

    def descendants(self, node: str) -> set[str]:
        seen: set[str] = set()
        stack = [node]
        while stack:
            for nxt in self._after[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def sorter(self) -> graphlib.TopologicalSorter[str]:
        """A prepared ``graphlib.TopologicalSorter`` over this graph; raises CycleError naming one cycle."""
        sorter = graphlib.TopologicalSorter(self._before)
        try:
            sorter.prepare()
        except graphlib.CycleError:
            raise CycleError(find_cycle(self._after) or []) from None
        return sorter

    def topological_order(self) -> list[str]:
        """Nodes in an order that respects every edge, those ready together by ``key``."""
        sorter = self.sorter()
        order: list[str] = []
        while sorter.is_active():
            ready = self.ordered(sorter.get_ready())
            order += ready
            sorter.done(*ready)
        return order

    def to_dot(self) -> str:
        lines = ["digraph vastplan {", "  rankdir=LR;"]
        lines += [f'  "{n}";' for n in self.nodes]
        lines += [f'  "{a}" -> "{b}";' for a in self.nodes for b in self.ordered(self._after[a])]
        return "\n".join(lines + ["}"]) + "\n"
