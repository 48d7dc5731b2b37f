"""The Vast.ai filter language as the server evaluates it.

A query is ``{field: {op: value, ...}, ...}`` with ops eq, neq, gt, gte, lt, lte, in, notin.
The CLI sends most values as strings (``{"num_gpus": {"eq": "1"}}``), so values are coerced to
the type of the record's field before comparing. ``geolocation`` compares a country code with
the trailing code of ``"California, US"``; ``gpu_name`` treats ``_`` as a space.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

OPERATORS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"})
OP_ALIASES = {"==": "eq", "=": "eq", "!=": "neq", "ne": "neq", "nin": "notin", "not in": "notin",
              ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
CONTROL_KEYS = frozenset({"order", "type", "limit", "allocated_storage", "disable_bundling", "q",
                          "select_cols", "order_by", "after_token"})


def parse_filters(raw: JSON, *, what: str = "select_filters") -> dict[str, dict[str, JSON]]:
    """Validate a filter object, dropping the control keys that share its namespace."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise Refusal(400, "invalid_request", f"{what} must be a JSON object.")
    filters: dict[str, dict[str, JSON]] = {}
    for name, terms in raw.items():
        if name in CONTROL_KEYS:
            continue
        if not isinstance(terms, dict):
            # A bare value is read as equality, as the legacy API did.
            terms = {"eq": terms}
        clean: dict[str, JSON] = {}
        for op, value in terms.items():
            op_name = OP_ALIASES.get(op, op)
            if op_name not in OPERATORS:
                raise Refusal(400, "invalid_request", f"Unknown operator {op!r} for field {name!r}.")
            clean[op_name] = value
        filters[name] = clean
    return filters


def _version_number(text: str) -> int | None:
    """``"535.86.05"`` -> 535086005, the form the CLI sends for driver_version comparisons."""
    pieces = text.split(".")
    if len(pieces) != 3 or not all(p.isdigit() for p in pieces):
        return None
    return int("".join(p.zfill(3) for p in pieces))


def _coerce(value: JSON, like: JSON) -> JSON:
    """Bring a filter value to the type of the record value it is compared with."""
    if isinstance(like, bool):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
        if isinstance(value, (int, float)):
            return bool(value)
        return value
    if isinstance(like, (int, float)) and not isinstance(value, bool) and isinstance(value, str):
        try:
            return float(value)
        except ValueError as exc:
            raise _not_a_number(value) from exc
    return value


def _not_a_number(value: JSON) -> Refusal:
    # The spec's 400 for /bundles names invalid_request, where other routes' bad numbers are invalid_args.
    return Refusal(400, "invalid_request", f"Invalid args: {json.dumps(value)} is not a number.")


def _normalise_text(field: str, value: JSON) -> JSON:
    if isinstance(value, str) and field == "gpu_name":
        return value.replace("_", " ").strip().lower()
    if isinstance(value, str):
        return value.strip()
    return value


def _country(value: str) -> str:
    return value.rsplit(",", 1)[-1].strip().upper()


def _equal(field: str, actual: JSON, wanted: JSON) -> bool:
    if field == "geolocation" and isinstance(actual, str) and isinstance(wanted, str):
        return actual.strip().lower() == wanted.strip().lower() or _country(actual) == wanted.strip().upper()
    wanted = _coerce(wanted, actual)
    if isinstance(actual, str) and isinstance(wanted, str):
        return bool(_normalise_text(field, actual) == _normalise_text(field, wanted))
    if isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
        return float(actual) == float(wanted)
    return bool(actual == wanted)


def _ordered(actual: JSON, wanted: JSON, op: str) -> bool:
    wanted = _coerce(wanted, actual)
    numeric = (int, float)
    if isinstance(actual, numeric) and not isinstance(actual, bool) and \
            (not isinstance(wanted, numeric) or isinstance(wanted, bool)):
        raise _not_a_number(wanted)
    if actual is None or wanted is None:
        return False
    try:
        if op == "gt":
            return bool(actual > wanted)
        if op == "gte":
            return bool(actual >= wanted)
        if op == "lt":
            return bool(actual < wanted)
        return bool(actual <= wanted)
    except TypeError:
        return False


def term_matches(field: str, actual: JSON, op: str, wanted: JSON) -> bool:
    """Whether one ``field op value`` term holds for a record value."""
    if field == "driver_version" and isinstance(actual, str) and isinstance(wanted, (int, float)):
        actual = _version_number(actual)
    if op == "eq":
        return _equal(field, actual, wanted)
    if op == "neq":
        return not _equal(field, actual, wanted)
    if op in ("in", "notin"):
        items = wanted if isinstance(wanted, list) else [wanted]
        found = any(_equal(field, actual, item) for item in items)
        return found if op == "in" else not found
    return _ordered(actual, wanted, op)


def matches(record: Mapping[str, JSON], filters: Mapping[str, Mapping[str, JSON]]) -> bool:
    """Whether every term of every field holds; a field the record lacks reads as null."""
    for field, terms in filters.items():
        actual = record.get(field)
        for op, wanted in terms.items():
            if not term_matches(field, actual, op, wanted):
                return False
    return True


def parse_order(raw: JSON) -> list[tuple[str, bool]]:
    """Read ``[[field, "asc"|"desc"], ...]`` or v1's ``[{"col", "dir"}, ...]`` as (field, descending)."""
    if raw is None or raw == "":
        return []
    if not isinstance(raw, list):
        raise Refusal(400, "invalid_request", "order must be a list.")
    order: list[tuple[str, bool]] = []
    for item in raw:
        if isinstance(item, dict) and "col" in item:
            order.append((str(item["col"]), str(item.get("dir", "asc")).lower() == "desc"))
        elif isinstance(item, (list, tuple)) and item:
            direction = str(item[1]).lower() if len(item) > 1 else "asc"
            order.append((str(item[0]), direction == "desc"))
        elif isinstance(item, str):
            order.append((item.strip("-+"), item.endswith("-") or item.startswith("-")))
        else:
            raise Refusal(400, "invalid_request", f"Bad order term {item!r}.")
    return order


class _Key:
    """Sort key for one value: nulls last in either direction, numbers before text."""

    __slots__ = ("value", "descending")

    def __init__(self, value: JSON, descending: bool) -> None:
        self.value = value
        self.descending = descending

    def _rank(self) -> tuple[int, Any]:
        v = self.value
        if v is None:
            return (2, 0)
        if isinstance(v, (bool, int, float)):
            return (0, float(v))
        return (1, str(v))

    def __lt__(self, other: _Key) -> bool:
        mine, theirs = self._rank(), other._rank()
        if mine[0] != theirs[0] or mine[0] == 2:
            return mine[0] < theirs[0]
        return bool(mine[1] > theirs[1]) if self.descending else bool(mine[1] < theirs[1])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self._rank() == other._rank()

    def __hash__(self) -> int:
        return hash(self._rank())


def sort_records(records: Iterable[Mapping[str, JSON]], order: list[tuple[str, bool]],
                 tiebreak: str = "id") -> list[Mapping[str, JSON]]:
    """Sort by the order terms, then by ``tiebreak`` ascending so pages are stable."""
    terms = list(order)
    if tiebreak and all(name != tiebreak for name, _ in terms):
        terms.append((tiebreak, False))
    return sorted(records, key=lambda r: tuple(_Key(r.get(name), desc) for name, desc in terms))


def select_columns(record: Mapping[str, JSON], cols: JSON) -> dict[str, JSON]:
    """Project a record onto ``select_cols``; ``["*"]`` or nothing keeps all, unknown cols are null."""
    if not cols or cols == ["*"] or cols == "*":
        return dict(record)
    if not isinstance(cols, list):
        raise Refusal(400, "invalid_request", "select_cols must be a list.")
    if "*" in cols:
        return dict(record)
    return {str(c): record.get(str(c)) for c in cols}
