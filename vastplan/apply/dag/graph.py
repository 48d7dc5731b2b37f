"""A directed acyclic graph of named nodes. Knows nothing about Vast.ai or resources."""

from __future__ import annotations

from collections.abc import Iterable

from vastplan.errors import CycleError

__all__ = ["CycleError", "Graph"]


class Graph:
    """``add_edge(a, b)`` means a must finish before b starts."""

    def __init__(self, nodes: Iterable[str] = ()):
        self._after: dict[str, set[str]] = {}
        self._before: dict[str, set[str]] = {}
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

    @property
    def nodes(self) -> list[str]:
        return sorted(self._after)

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

    def topological_order(self) -> list[str]:
        """Nodes in an order that respects every edge; raises CycleError naming one cycle."""
        waiting = {n: len(p) for n, p in self._before.items()}
        ready = sorted(n for n, count in waiting.items() if count == 0)
        order: list[str] = []
        while ready:
            node = ready.pop(0)
            order.append(node)
            for nxt in sorted(self._after[node]):
                waiting[nxt] -= 1
                if waiting[nxt] == 0:
                    ready.append(nxt)
        if len(order) != len(waiting):
            raise CycleError(self._find_cycle({n for n, c in waiting.items() if c > 0}))
        return order

    def _find_cycle(self, candidates: set[str]) -> list[str]:
        node = min(candidates)
        path: list[str] = []
        while node not in path:
            path.append(node)
            node = min(p for p in self._before[node] if p in candidates)
        cycle = path[path.index(node):] + [node]
        return list(reversed(cycle))

    def to_dot(self) -> str:
        lines = ["digraph vastplan {", "  rankdir=LR;"]
        lines += [f'  "{n}";' for n in self.nodes]
        lines += [f'  "{a}" -> "{b}";' for a in self.nodes for b in sorted(self._after[a])]
        return "\n".join(lines + ["}"]) + "\n"
