"""Reading a stack (or var) file: bytes -> text -> plain data, with the line and column of every key
and value.

It refuses what PyYAML would otherwise accept quietly or expensively: duplicate keys (PyYAML keeps
the last one), files over 5 MB, alias bombs and deep nesting. YAML 1.1's surprises are switched off:
only ``true``/``false`` are booleans (so ``NO`` stays Norway), ``22:22`` is text, not a base-60
number, and timestamps stay text.
"""

from __future__ import annotations

import codecs
import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vastplan.diagnostics import Diagnostic, SourceRange
from vastplan.errors import UnreadableFile
from vastplan.files import read_regular_file

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 50_000
MAX_DEPTH = 64

YPath = tuple[str | int, ...]
Position = tuple[int, int]

_TAG = "tag:yaml.org,2002:"


class _TooManyNodes(yaml.MarkedYAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader resolving plain scalars by YAML 1.2's core schema, and stopping early on documents
    with too many values (pure-Python parsing of megabytes of tiny values would take a minute)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}
    composed = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self.composed += 1
        if self.composed > MAX_NODES:
            problem = f"the document has more than {MAX_NODES} values"
            raise _TooManyNodes(problem=problem, problem_mark=self.peek_event().start_mark)
        return super().compose_node(parent, index)


@functools.cache
def _fast_loader() -> Any:
    """libyaml's composer with ``_Loader``'s scalar rules (it calls back into ``Resolver.resolve``),
    about ten times faster; None without libyaml. Used for files up to ``FAST_BYTES`` that it composes
    without complaint; anything else goes through ``_Loader``, whose node limit and error messages
    are the reference."""
    try:
        from yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:
        return None

    class FastLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    return FastLoader


FAST_BYTES = 64 * 1024  # composed nodes stay few (MAX_NODES is checked by _Loader while composing)


for _tag, _regexp, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^<<$", "<"),
]:
    _Loader.add_implicit_resolver(_TAG + _tag, re.compile(_regexp), list(_first))


def format_path(path: YPath) -> str | None:
    """``("instances", "server", "volumes", 0)`` -> ``instances.server.volumes[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or None


@dataclass
class Document:
    """A parsed YAML file: ``data`` plus where each key and value starts (1-based)."""

    file: str
    data: Any = None
    keys: dict[YPath, Position] = field(default_factory=dict)
    values: dict[YPath, Position] = field(default_factory=dict)

    def range(self, path: YPath, *, key: bool = False) -> SourceRange:
        """Where ``path``'s key (or value) is written; the nearest written ancestor's key otherwise.
        The document as a whole is at 1:1."""
        if not path:
            return SourceRange(self.file, 1, 1)
        if key and path in self.keys:
            return SourceRange(self.file, *self.keys[path])
        if path in self.values:
            return SourceRange(self.file, *self.values[path])
        for end in range(len(path) - 1, 0, -1):
            if path[:end] in self.keys:
                return SourceRange(self.file, *self.keys[path[:end]])
        return SourceRange(self.file, 1, 1)

    def diag(self, path: YPath, summary: str, *, key: bool = False, address: YPath | None = None) -> Diagnostic:
        about = path if address is None else address
        return Diagnostic(summary, range=self.range(path, key=key), address=format_path(about))

    def file_diag(self, summary: str) -> Diagnostic:
        return Diagnostic(summary, range=SourceRange(self.file, 1, 1))


def read_text(path: Path, display: str) -> tuple[str | None, list[Diagnostic]]:
    """The file's text, or the reason it cannot be a stack file."""
    raw, problem = _read_bytes(path)
    if raw is None:
        return None, [Diagnostic(problem, range=SourceRange(display, 1, 1))]
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None, [Diagnostic("is UTF-16 text; save it as UTF-8", range=SourceRange(display, 1, 1))]
    nul = raw.find(b"\0")
    if nul >= 0:
        return None, [_byte_diag(display, raw, nul, "is not a text file (it contains NUL bytes)")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        return None, [_byte_diag(display, raw, exc.start, f"is not valid UTF-8 (byte 0x{bad:02x})")]


def _read_bytes(path: Path) -> tuple[bytes | None, str]:
    try:
        return read_regular_file(path, MAX_BYTES), ""
    except UnreadableFile as exc:
        return None, exc.reason


def _byte_diag(display: str, raw: bytes, offset: int, summary: str) -> Diagnostic:
    line = raw.count(b"\n", 0, offset) + 1
    col = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return Diagnostic(summary, range=SourceRange(display, line, col))


def parse_yaml(text: str, display: str) -> tuple[Document, list[Diagnostic]]:
    """Compose ``text`` and build plain data with positions; problems come back as diagnostics."""
    doc = Document(display)
    node = _fast_compose(text)
    try:
        if node is None:
            node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return doc, [_syntax_diag(display, exc)]
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        summary = f"invalid character U+{char:04X} (YAML allows printable text only)"
        return doc, [_byte_diag(display, text.encode("utf-8"), len(text[: exc.position].encode()), summary)]
    except (yaml.YAMLError, RecursionError) as exc:
        reason = "nesting is too deep" if isinstance(exc, RecursionError) else str(exc)
        return doc, [doc.file_diag(f"invalid YAML: {reason}")]
    if node is None:
        return doc, []
    builder = _Builder(doc)
    try:
        doc.data = builder.build(node, (), 0)
    except _Abort as stop:
        doc.data = None
        return doc, [*builder.diags, stop.diag]
    return doc, builder.diags


def _fast_compose(text: str) -> Node | None:
    """The document composed by libyaml, or None: not available, too large, or a problem to report
    (then ``_Loader`` composes it again and words the problem, as it always has)."""
    loader = _fast_loader()
    # a tab is where the two parsers disagree (libyaml takes ``k: v<TAB>x``, which _Loader refuses)
    if loader is None or len(text) > FAST_BYTES or "\t" in text or _NON_PRINTABLE.search(text):
        return None
    try:
        node: Node | None = yaml.compose(text, Loader=loader)
    except Exception:  # noqa: BLE001 - any complaint: the reference loader says what it is
        return None
    return node


_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


_SYNTAX_HINTS = {
    "expected <block end>, but found '<block mapping start>'": (
        "bad indentation: this line does not line up with the keys above it"
    ),
    "but found another document": "a stack file holds one YAML document; remove the second ---",
    "found character '\\t' that cannot start any token": "a tab cannot be used for indentation; indent with spaces",
    "mapping values are not allowed here": (
        'unexpected ":" (quote a value that contains ": ", or check the indentation)'
    ),
}


def _syntax_diag(display: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "syntax error"
    if isinstance(exc, _TooManyNodes):
        return Diagnostic(
            problem, range=SourceRange(display, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1)
        )
    summary = _SYNTAX_HINTS.get(problem, f"invalid YAML: {problem}")
    if exc.context and exc.context_mark and problem not in _SYNTAX_HINTS:
        summary += f" ({exc.context} at line {exc.context_mark.line + 1})"
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Diagnostic(summary, range=SourceRange(display, line, col))


class _Abort(Exception):
    def __init__(self, diag: Diagnostic):
        self.diag = diag


def _pos(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


@dataclass
class _Builder:
    """Turns composed nodes into data, recording positions and refusing bombs and duplicates."""

    doc: Document
    diags: list[Diagnostic] = field(default_factory=list)
    visited: int = 0
    active: set[int] = field(default_factory=set)

    def build(self, node: Node, path: YPath, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise _Abort(self._at(node, f"the document expands to more than {MAX_NODES} values (alias bomb?)"))
        if depth > MAX_DEPTH:
            raise _Abort(self._at(node, f"nesting is deeper than {MAX_DEPTH} levels", path))
        self.doc.values.setdefault(path, _pos(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self.active:
            raise _Abort(self._at(node, "an alias refers to the value that contains it", path))
        plain = _TAG + ("seq" if isinstance(node, SequenceNode) else "map")
        if node.tag != plain:
            noun = "a list" if isinstance(node, SequenceNode) else "a mapping"
            self.diags.append(self._at(node, f"unsupported YAML tag {_shown_tag(node.tag)} on {noun} "
                                             "(write it without a tag)", path))
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))

    def _at(self, node: Node, summary: str, path: YPath = ()) -> Diagnostic:
        return Diagnostic(summary, range=SourceRange(self.doc.file, *_pos(node)), address=format_path(path))

    def _scalar(self, node: ScalarNode, path: YPath) -> Any:
        value, problem = scalar_value(node.tag, node.value)
        if problem:
            self.diags.append(self._at(node, problem, path))
        return value

    def _mapping(self, node: MappingNode, path: YPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in first_seen:
                line = first_seen[key].start_mark.line + 1
                summary = f'duplicate key "{key}" (first defined on line {line})'
                self.diags.append(self._at(key_node, summary, (*path, key)))
                continue
            first_seen[key] = key_node
            self.doc.keys.setdefault((*path, key), _pos(key_node))
            out[key] = self.build(value_node, (*path, key), depth + 1)
        for source in merges:
            self._merge(out, source, path, depth)
        return out

    def _merge(self, out: dict[str, Any], source: Node, path: YPath, depth: int) -> None:
        """``<<: *base`` (or a list of them): keys written here win over merged ones."""
        sources = source.value if isinstance(source, SequenceNode) else [source]
        for item in sources:
            if not isinstance(item, MappingNode):
                self.diags.append(self._at(item, "<< (merge) needs a mapping or a list of mappings", path))
                continue
            merged = self.build(item, path, depth)
            for key, value in merged.items():
                out.setdefault(key, value)

    def _key(self, node: Node, path: YPath) -> str | None:
        if not isinstance(node, ScalarNode):
            self.diags.append(self._at(node, "a key must be a plain value, not a list or mapping", path))
            return None
        return node.value


def scalar_value(tag: str, text: str) -> tuple[Any, str]:
    """The value of a scalar with resolved ``tag``; a problem sentence instead for what JSON can't hold."""
    name = tag[len(_TAG) :] if tag.startswith(_TAG) else None
    if name == "str":
        return text, ""
    if name == "null":
        return None, ""
    if name == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true", ""
    try:
        if name == "int":
            return _int(text), ""
        if name == "float":
            value = float(text.replace("_", "").lower().replace(".inf", "inf").replace(".nan", "nan"))
            if math.isfinite(value):
                return value, ""
            return text, f"{text} is not a finite number"
    except ValueError:
        return text, f'"{text}" is not a valid {name}'
    return text, f"unsupported YAML tag {_shown_tag(tag)} (write a plain value)"


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _int(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-").replace("_", "").lower()
    if body.startswith(("0x", "0o")):
        return sign * int(body[2:], 16 if body[1] == "x" else 8)
    return sign * int(body, 10)


def load_yaml_file(path: str | Path) -> tuple[Document, list[Diagnostic]]:
    """Read and parse one file; ``Document.data`` is None when it could not be parsed."""
    display = str(path)
    text, diags = read_text(Path(path), display)
    if text is None:
        return Document(display), diags
    return parse_yaml(text, display)
