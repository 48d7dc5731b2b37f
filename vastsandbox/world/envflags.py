"""Docker-flag strings (``-p 8080:8080 -e K=V``) and the dict form instances use, both ways.

Templates store the string; instance creation sends a dict where a port is ``"-p 8080:8080": "1"``
and a variable is ``"K": "V"``; instances report ``extra_env`` as ``[[key, value], ...]``.
"""

from __future__ import annotations

import shlex

from vastsandbox.world import JSON

FLAG_WITH_ITEM = ("-p", "-v", "-n")


def env_from_string(text: str | None) -> dict[str, str]:
    """Parse a docker-options string into the dict form; unknown tokens are ignored."""
    result: dict[str, str] = {}
    if not text:
        return result
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    flag: str | None = None
    for token in tokens:
        if flag is None:
            if token.startswith("-") and len(token) == 2:
                flag = token
            continue
        if flag in FLAG_WITH_ITEM:
            result[f"{flag} {token}"] = "1"
        elif flag == "-e":
            name, sep, value = token.partition("=")
            if sep and name:
                result[name] = value
        else:
            result[flag] = token
        flag = None
    return result


def env_to_string(env: dict[str, JSON]) -> str:
    """The docker-options string of a dict-form env."""
    parts: list[str] = []
    for key, value in env.items():
        if key.startswith("-") and " " in key:
            parts.append(key)
        elif key.startswith("-"):
            parts.append(f"{key} {shlex.quote(str(value))}")
        else:
            parts.append(f"-e {shlex.quote(f'{key}={value}')}")
    return " ".join(parts)


def env_as_dict(env: JSON) -> dict[str, str]:
    """Accept either form (the docs allow a string where the CLI sends a dict)."""
    if isinstance(env, str):
        return env_from_string(env)
    if isinstance(env, dict):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    return {}


def port_specs(env: dict[str, str]) -> list[str]:
    """Container ports declared with ``-p``, as docker keys like ``"8080/tcp"``."""
    ports = []
    for key in env:
        if key.startswith("-p "):
            spec = key[3:].strip()
            container = spec.split(":")[-1]
            proto = "tcp"
            if "/" in container:
                container, proto = container.split("/", 1)
            if container.isdigit():
                ports.append(f"{container}/{proto}")
    return ports
