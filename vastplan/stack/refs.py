"""References between the parts of a stack: the ``${...}`` grammar outputs use to name resource
attributes. (Cycles in ``depends_on`` are found by ``vastplan.apply.dag.graph.find_cycle``.)"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from vastplan.kinds import BY_COLLECTION
from vastplan.stack.words import did_you_mean

# "${...}" (group 1 = the expression) or the escape "$${" (group 1 = None).
EXPR = re.compile(r"\$\$\{|\$\{([^{}]*)\}")
_REFERENCE = re.compile(
    r"\s*(?P<collection>" + "|".join(map(re.escape, BY_COLLECTION)) + r")\.(?P<name>[A-Za-z0-9_-]+)"
    r"(?:\[(?P<index>\*|[0-9]+)\])?\.(?P<attr>[A-Za-z_][A-Za-z0-9_]*)\s*"
)
RESOURCE_ROOTS = tuple(BY_COLLECTION)

_EXAMPLE = next((f"{k.collection}.{k.output_example} (NAME[*] or NAME[N] for {k.with_article} with count)"
                 for k in reversed(list(BY_COLLECTION.values())) if k.output_example), "COLLECTION.NAME.ATTRIBUTE")


@dataclass(frozen=True)
class Reference:
    """``instances.server[*].ssh_url`` -> collection ``instances``, name ``server``, index ``*``."""

    collection: str
    name: str
    index: int | Literal["*"] | None
    attr: str
    text: str

    @property
    def base(self) -> str:
        return f"{self.collection}.{self.name}"


def parse_reference(expr: str) -> Reference | None:
    """The reference inside ``${...}`` (``expr`` without the braces), or None if it is not one."""
    m = _REFERENCE.fullmatch(expr)
    if not m:
        return None
    raw = m.group("index")
    index: int | Literal["*"] | None = None if raw is None else ("*" if raw == "*" else int(raw))
    return Reference(m.group("collection"), m.group("name"), index, m.group("attr"), f"${{{expr}}}")


def references(value: str) -> Iterator[Reference]:
    """The resource references in an output value, in order (for whoever evaluates outputs)."""
    for m in EXPR.finditer(value):
        ref = parse_reference(m.group(1)) if m.group(1) is not None else None
        if ref:
            yield ref


def output_problems(value: str, counts: Mapping[str, Mapping[str, int | None]],
                    attributes: Mapping[str, frozenset[str]] | None = None) -> list[str]:
    """What is wrong with each ``${...}`` in an output value.

    ``counts`` maps collection -> resource name -> its ``count`` (None when it has none);
    ``attributes``, when given, maps collection -> the attribute names a reference may use.
    """
    problems = []
    for m in EXPR.finditer(value):
        if m.group(1) is None:
            continue
        ref = parse_reference(m.group(1))
        problem = _reference_problem(ref, counts, attributes or {}) if ref else _shape_problem(m.group(1))
        if problem:
            problems.append(problem)
    return problems


def _shape_problem(expr: str) -> str:
    if expr.strip().startswith(("var.", "var ")):
        return ""  # variables were substituted (or reported) before this check
    return (
        f"unknown reference ${{{expr}}}: expected COLLECTION.NAME.ATTRIBUTE such as {_EXAMPLE}"
    )


def _reference_problem(ref: Reference, counts: Mapping[str, Mapping[str, int | None]],
                       attributes: Mapping[str, frozenset[str]]) -> str:
    names = counts.get(ref.collection, {})
    noun = BY_COLLECTION[ref.collection].singular
    if ref.name not in names:
        return f'unknown reference {ref.text}: no {noun} named "{ref.name}"{did_you_mean(ref.name, names)}'
    known = attributes.get(ref.collection)
    if known is not None and ref.attr not in known:
        hint = did_you_mean(ref.attr, sorted(known))
        return f'unknown reference {ref.text}: {noun}s have no attribute "{ref.attr}"{hint}'
    count = names[ref.name]
    if count is None and ref.index is not None:
        return f"{ref.text}: {ref.base} has no count; write {ref.base}.{ref.attr}"
    if count is not None and ref.index is None:
        return f"{ref.text}: {ref.base} has count {count}; write {ref.base}[*].{ref.attr} or {ref.base}[N].{ref.attr}"
    if isinstance(ref.index, int) and count is not None and ref.index >= count:
        return f"{ref.text}: index {ref.index} is out of range ({ref.base} has count {count})"
    return ""
