"""Diagnostics: problems collected (not raised one at a time) with where they are."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class SourceRange:
    """A position in a stack file; line and column count from 1."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: ``summary`` is the sentence, ``address`` the dotted path it is about."""

    summary: str
    severity: Severity = Severity.ERROR
    range: SourceRange | None = None
    address: str | None = None
    detail: str = ""

    def format(self) -> str:
        where = f"{self.range}: " if self.range else ""
        about = f"{self.address}: " if self.address else ""
        text = f"{where}{about}{self.summary}"
        return f"{text}\n  {self.detail}" if self.detail else text

    def sort_key(self) -> tuple[str, int, int, str]:
        r = self.range
        return (r.file, r.line, r.col, self.summary) if r else ("", 0, 0, self.summary)
