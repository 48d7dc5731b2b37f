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

from vastsandbox.server import start_in_thread


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.sandbox_proc")
    parser.add_argument("--data", default=None, help="data dir (default: in memory)")
    parser.add_argument("--machines", type=int, default=60)
    parser.add_argument("--boot-seconds", type=float, default=3.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ssh", action="store_true", help="no SSH listeners (thousands of instances)")
    args = parser.parse_args(argv)
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
