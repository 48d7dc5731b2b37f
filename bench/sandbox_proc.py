"""Run a sandbox in its own process (so its CPU never shares the measured client's GIL).

``python -m bench.sandbox_proc [--data DIR] --machines N --boot-seconds S --latency-ms MS [--no-ssh]``
prints the base URL on the first line, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from vastplan.sandbox.server import start_in_thread


def index_id_lookups() -> None:
    """Answer ``select_filters={"id": {"in": [...]}}`` by id instead of rendering every instance.

    The stock sandbox renders all N instances of the account for each filtered page (O(N) per page,
    O(N^2) per refresh: 250 s of *sandbox* CPU at N = 10,000), which would bury the client's cost
    under the emulator's. Vast.ai indexes by id; so does this patch. Same rows, same order, same
    paging: only a filter of exactly ``id in [...]`` takes the shortcut. ``--stock`` turns it off.
    """
    from vastplan.sandbox import instances, routes_instances
    from vastplan.sandbox.query import parse_order, sort_records

    stock = routes_instances._rows

    def rows(call: Any, filters: Any, order: Any) -> list[Any]:
        ids = filters.get("id", {}).get("in") if isinstance(filters, dict) and list(filters) == ["id"] \
            and isinstance(filters.get("id"), dict) and list(filters["id"]) == ["in"] else None
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            return stock(call, filters, order)
        records = [call.sb.world.get("instances", i, call.uid) for i in set(ids)]
        rendered = [instances.render(call, r) for r in records if r is not None]
        return [dict(r) for r in sort_records(rendered, parse_order(order))]

    routes_instances._rows = rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.sandbox_proc")
    parser.add_argument("--data", default=None, help="data dir (default: in memory)")
    parser.add_argument("--machines", type=int, default=60)
    parser.add_argument("--boot-seconds", type=float, default=3.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ssh", action="store_true", help="no SSH listeners (thousands of instances)")
    parser.add_argument("--stock", action="store_true", help="no id index for filtered instance pages")
    args = parser.parse_args(argv)
    if not args.stock:
        index_id_lookups()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with start_in_thread(Path(args.data) if args.data else None, seed=args.seed, boot_seconds=args.boot_seconds,
                         latency_ms=args.latency_ms, machines=args.machines,
                         ssh_listeners=not args.no_ssh) as sb:
        sys.stdout.write(sb.url + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass


if __name__ == "__main__":
    main()
