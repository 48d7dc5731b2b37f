"""Small helpers that put values and suggestions into diagnostic sentences."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

_MAX_SHOWN = 60


def show(value: Any) -> str:
    """A value as the user would write it: ``"RTX 4090"``, ``-4``, ``true``, ``a list``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 4] + '..."'
    return repr(value)


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean "vllm"?)`` when one of ``choices`` is close to ``word``, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
