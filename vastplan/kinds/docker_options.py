"""Templates store env and ports as one docker-options string, ``-p 8000:8000 -e KEY=VAL``.

These two functions convert between that string and the (env dict, port list) a stack declares,
so that a template read back from the API compares equal to the stack that made it.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

_PORT = re.compile(r"^(?P<host>\d+):(?P<container>\d+)(?:/(?P<proto>tcp|udp))?$")


def normalise_ports(ports: Iterable[Any]) -> list[str]:
    """``[8000, "8001/udp", "22/tcp"]`` -> ``["22", "8000", "8001/udp"]`` (tcp is implied)."""
    return list(_normalised(tuple(str(p) for p in ports)))


@functools.lru_cache(maxsize=1024)  # a fleet repeats a few port lists thousands of times per plan
def _normalised(ports: tuple[str, ...]) -> tuple[str, ...]:
    result = set()
    for port in ports:
        number, _, proto = port.partition("/")
        result.add(number if proto in ("", "tcp") else f"{number}/{proto}")
    return tuple(sorted(result, key=lambda p: (int(p.partition("/")[0]), p)))


def build(env: Mapping[str, str], ports: Iterable[str]) -> str:
    parts = []
    for port in normalise_ports(ports):
        number, _, proto = port.partition("/")
        parts.append(f"-p {number}:{number}" + (f"/{proto}" if proto else ""))
    for key, value in env.items():
        parts.append(f"-e {shlex.quote(f'{key}={value}')}")
    return " ".join(parts)


def parse(options: str | Mapping[str, Any] | None) -> tuple[dict[str, str], list[str]]:
    """(env, ports) from a docker-options string, or from the dict form instance creation uses."""
    if isinstance(options, Mapping):
        return _parse_mapping(options)
    env: dict[str, str] = {}
    ports: list[str] = []
    try:
        tokens = shlex.split(options or "")
    except ValueError:
        tokens = (options or "").split()
    for flag, value in zip(tokens, tokens[1:], strict=False):
        if flag == "-e" and "=" in value:
            key, _, val = value.partition("=")
            env[key] = val
        elif flag == "-p" and (match := _PORT.match(value)):
            ports.append(match["container"] + (f"/{match['proto']}" if match["proto"] else ""))
    return env, normalise_ports(ports)


def _parse_mapping(options: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    ports: list[str] = []
    for key, value in options.items():
        if key.startswith("-p ") and (match := _PORT.match(key[3:].strip())):
            ports.append(match["container"] + (f"/{match['proto']}" if match["proto"] else ""))
        elif not key.startswith("-"):
            env[key] = str(value)
    return env, normalise_ports(ports)
