"""From checked stack data to a ``Stack``: env values, ``count``, outputs and cycles here; each block's
defaults, references, key files and checks by its kind's ``resolve`` (through ``_Resolver``).

It works on data the schema may have rejected, skipping what has the wrong shape (the schema check
already reported it), so that one run reports reference and file problems alongside schema ones.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vastplan.apply.dag.graph import find_cycle
from vastplan.diagnostics import Diagnostic
from vastplan.kinds import BY_COLLECTION, KINDS
from vastplan.stack.model import Budget, Lifecycle, OutputSpec, ResourceSpec, Stack, make_address
from vastplan.stack.reader import Document, YPath, format_path
from vastplan.stack.refs import output_problems
from vastplan.stack.words import did_you_mean

MAX_DURATION_DAYS = 366  # a ttl or timeout beyond a year is a typo, and 10**26 days overflows the clock
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NOT_CONFIG = ("count", "lifecycle")
MAX_COUNT = 10_000  # as schemas/stack.schema.json says


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None  # 1e2 is refused by the schema, not rounded into 100 rentals
    return value if 0 <= value <= MAX_COUNT else None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def output_attributes() -> dict[str, frozenset[str]]:
    """Collection -> the attributes an output may name: what the kind records, and its block's fields."""
    from vastplan.stack.schema import kind_fields

    return {k.collection: k.recorded_attributes | kind_fields(k.schema_definition) for k in KINDS.values()}


def as_text(value: Any) -> str:
    """An env value as the container sees it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass
class _Resolver:
    doc: Document
    hidden: frozenset[YPath]
    base_dir: Path
    environ: Mapping[str, str]
    diags: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = _mapping(self.doc.data)
        # collection -> name -> count (None: no count), for references and output checks
        self.counts = {
            coll: {name: _count(_mapping(body).get("count")) for name, body in _mapping(self.data.get(coll)).items()}
            for coll in BY_COLLECTION
        }

    def report(self, path: YPath, summary: str, *, key: bool = False) -> None:
        self.diags.append(self.doc.diag(path, summary, key=key))

    def check_duration(self, path: YPath) -> None:
        """A duration the schema let through (``90s``, ``2d``) must also be one the clock can add."""
        node: Any = self.data
        for part in path:
            node = _mapping(node).get(str(part))
        if not (isinstance(node, str) and re.fullmatch(r"[1-9][0-9]*[smhd]", node)):
            return
        if int(node[:-1]) * DURATION_SECONDS[node[-1]] > MAX_DURATION_DAYS * 86400:
            self.report(path, f'"{node if len(node) <= 20 else node[:17] + "..."}" is longer than '
                              f"{MAX_DURATION_DAYS} days, the longest duration allowed")

    def stack(self) -> Stack:
        specs = [spec for coll in BY_COLLECTION for spec in self._collection(coll)]
        self._check_cycles(specs)
        budget = _mapping(self.data.get("budget")).get("max_dph_total")
        ttl = self.data.get("ttl")
        self.check_duration(("ttl",))
        return Stack(
            path=self.doc.file,
            name=str(self.data.get("stack", "")),
            resources=tuple(specs),
            outputs=self._outputs(),
            budget=Budget(_finite(budget)),
            ttl=ttl if isinstance(ttl, str) else None,
        )

    def _collection(self, coll: str) -> list[ResourceSpec]:
        kind = BY_COLLECTION[coll]
        specs = []
        for name, body in _mapping(self.data.get(coll)).items():
            if not isinstance(body, dict):
                continue
            path = (coll, name)
            config, depends_on = kind.resolve(self, name, body, path)
            hidden_paths = frozenset(self._sensitive(body, path))
            count = self.counts[coll][name]
            # Once per block, not once per count index: the indexes share one config (a spec's config
            # is never changed once made), their lifecycle, dependencies and source position.
            needs, lifecycle = tuple(dict.fromkeys(depends_on)), _lifecycle(body.get("lifecycle"))
            written = self.doc.range(path, key=True)
            indexes: list[int | None] = [None] if count is None else list(range(count))
            specs += [ResourceSpec(kind=kind.kind, name=name, address=make_address(coll, name, index), config=config,
                                   index=index, depends_on=needs, sensitive_paths=hidden_paths, lifecycle=lifecycle,
                                   range=written)
                      for index in indexes]
        return specs

    def _sensitive(self, body: dict[str, Any], path: YPath) -> set[str]:
        """Dotted paths (relative to the resource) of values that must not be shown."""
        found = set()
        for hidden in self.hidden:
            if hidden[: len(path)] == path:
                relative = hidden[len(path) :]
                # a secret inside an env value's mapping ({value: ...}) hides that whole env value
                found.add(format_path(relative[:2] if relative[:1] == ("env",) else relative) or "")
        for key, value in _mapping(body.get("env")).items():
            if isinstance(value, dict) and value.get("sensitive", "from_env" in value) is True:
                found.add(f"env.{key}")
        return found

    def config(self, defaults: Mapping[str, Any], body: dict[str, Any], path: YPath) -> dict[str, Any]:
        """The body minus count and lifecycle, env flattened, the kind's ``defaults`` filled in."""
        config = {k: copy.deepcopy(v) for k, v in body.items() if k not in _NOT_CONFIG}
        if "env" in config:
            config["env"] = self._env(_mapping(config["env"]), (*path, "env"))
        for key, default in defaults.items():
            config.setdefault(key, copy.deepcopy(default))
        return config

    def _env(self, env: dict[str, Any], path: YPath) -> dict[str, str]:
        out = {}
        for key, value in env.items():
            if not isinstance(value, dict):
                out[key] = as_text(value)
            elif isinstance(value.get("from_env"), str):
                name = value["from_env"]
                if name in self.environ:
                    out[key] = self.environ[name]
                else:
                    self.report((*path, key, "from_env"), f'environment variable "{name}" is not set')
            elif "value" in value:
                out[key] = as_text(value["value"])
        return out

    def reference(self, coll: str, name: Any, path: YPath) -> str | None:
        """The address ``name`` refers to in ``coll``; reported if there is no such resource."""
        if not isinstance(name, str):
            return None
        names = self.counts[coll]
        if name not in names:
            self.report(path, f'no {BY_COLLECTION[coll].singular} named "{name}"{did_you_mean(name, names)}')
            return None
        return make_address(coll, name)

    def _outputs(self) -> tuple[OutputSpec, ...]:
        outputs = []
        for name, body in _mapping(self.data.get("outputs")).items():
            value = _mapping(body).get("value")
            if not isinstance(value, str):
                continue
            where = ("outputs", name, "value")
            for problem in output_problems(value, self.counts, output_attributes()):
                self.diags.append(self.doc.diag(where, problem, address=("outputs", name)))
            outputs.append(
                OutputSpec(
                    name=name,
                    value=value,
                    sensitive=body.get("sensitive") is True or where in self.hidden,
                    description=str(body.get("description", "")),
                    range=self.doc.range(("outputs", name), key=True),
                )
            )
        return tuple(outputs)

    def _check_cycles(self, specs: list[ResourceSpec]) -> None:
        """On blocks, not count indexes: references name blocks, and a count block's indexes share
        its dependencies (10,000 indexes were 10,000 graph nodes to prove the same thing)."""
        edges: dict[str, tuple[str, ...]] = {}
        first: dict[str, ResourceSpec] = {}
        for spec in specs:
            block = spec.address.partition("[")[0]
            first.setdefault(block, spec)
            edges[block] = spec.depends_on
        cycle = find_cycle(edges)
        if cycle:
            where = first[cycle[0]]
            summary = f"dependency cycle: {' -> '.join(cycle)}"
            self.diags.append(Diagnostic(summary, range=where.range, address=where.address))


def _lifecycle(value: Any) -> Lifecycle:
    body = _mapping(value)
    ignore = body.get("ignore_changes")
    return Lifecycle(
        prevent_destroy=body.get("prevent_destroy") is True,
        ignore_changes=tuple(x for x in ignore if isinstance(x, str)) if isinstance(ignore, list) else (),
        create_before_destroy=body.get("create_before_destroy") is True,
    )


def resolve(
    doc: Document,
    hidden: frozenset[YPath] = frozenset(),
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Stack, list[Diagnostic]]:
    """The ``Stack`` that ``doc`` (already interpolated) describes, with the problems found.

    ``hidden`` lists document paths that received sensitive variable values; key files are read
    relative to ``base_dir`` (default: the file's folder); ``environ`` defaults to ``os.environ``.
    """
    resolver = _Resolver(
        doc,
        hidden,
        base_dir if base_dir is not None else Path(doc.file).parent,
        os.environ if environ is None else environ,
    )
    return resolver.stack(), resolver.diags
