"""Resource addresses: ``collection.name``, ``collection.name[index]`` and the ``~deposed`` suffix of an
object waiting for its replacement. The stack, the state, the plan and the command line all spell them
this way; they are parsed here and nowhere else. State files and JSON documents keep the plain string.

``--target``, ``--exclude``, ``--replace`` and the state commands take *patterns*: an address, where one
without an index (``instances.server``) stands for every index of it (and a pattern stands for the
deposed objects of what it names too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from vastplan.errors import UsageError

DEPOSED = "~deposed"
# An address without the suffix, for grammars that embed one (the ownership marker).
PATTERN = r"(?P<collection>[a-z][a-z0-9_]*)\.(?P<name>[A-Za-z0-9_-]+)(?:\[(?P<index>[0-9]+)\])?"
_ADDRESS = re.compile(PATTERN + r"(?P<deposed>~deposed)?")
SortKey = tuple[int, str, str, int, bool]


@dataclass(frozen=True)
class Address:
    """``instances.server[2]``: collection ``instances``, name ``server``, index 2."""

    collection: str
    name: str
    index: int | None = None
    deposed: bool = False

    @classmethod
    def parse(cls, text: str) -> Address:
        """The address ``text`` spells; a UsageError saying what an address looks like if it is none."""
        found = cls.find(text)
        if found is None:
            raise UsageError(f"{text} is not an address: expected COLLECTION.NAME or COLLECTION.NAME[INDEX] "
                             "(the collection as the stack file names it, then the resource's name and index)")
        return found

    @classmethod
    def find(cls, text: str) -> Address | None:
        """The address ``text`` spells, or None."""
        m = _ADDRESS.fullmatch(text)
        if m is None:
            return None
        index = m["index"]
        return cls(m["collection"], m["name"], None if index is None else int(index), m["deposed"] is not None)

    @property
    def short(self) -> str:
        """``server[2]``: the address without its collection, as a plan line names a resource."""
        return str(self).partition(".")[2]

    @property
    def base(self) -> str:
        """``instances.server`` for every index of it."""
        return f"{self.collection}.{self.name}"

    def __str__(self) -> str:
        indexed = self.base if self.index is None else f"{self.base}[{self.index}]"
        return indexed + (DEPOSED if self.deposed else "")

    @property
    def sort_key(self) -> SortKey:
        """Natural order: ``server[2]`` before ``server[10]``, the unindexed address before its indexes."""
        return (0, self.collection, self.name, -1 if self.index is None else self.index, self.deposed)

    def matches(self, pattern: Address) -> bool:
        """Whether ``pattern`` names this address: equal, or without an index and naming every index."""
        return (self.base == pattern.base and pattern.index in (None, self.index)
                and (self.deposed or not pattern.deposed))


def sort_key(text: str) -> SortKey:
    """Natural order of address strings; a string that is not an address sorts after them, by its text."""
    address = Address.find(text)
    return address.sort_key if address is not None else (1, text, "", -1, False)


def matching(addresses: Iterable[str], pattern: str) -> list[str]:
    """The addresses ``pattern`` names, in the order given. A pattern that is not an address is a
    UsageError; an address string that is not one never matches."""
    wanted = Address.parse(pattern)
    return [a for a in addresses if (found := Address.find(a)) is not None and found.matches(wanted)]
