"""The files of instances and volumes, and the few commands ``execute`` may run on them.

Vast.ai's execute route runs a constrained command (``ls``, ``rm``, ``du``) against the container's
writeable layer on the host and uploads the output. Here each container and each volume has a
small tree of files (path -> size in bytes), kept in the world; an instance sees its mounted
volumes at their mount paths. ``copy`` moves trees between containers and volumes the same way.
"""

from __future__ import annotations

import math
import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

Tree = dict[str, int]
FILES = "files"
COMMANDS = ("ls", "rm", "du")
FORBIDDEN = set(";|&`$<>\n\\")
STAMP = "Jan  1 00:00"


def starter_tree(record: dict[str, JSON]) -> Tree:
    """What a fresh container of this instance holds."""
    tree: Tree = {"/root/.bashrc": 3771, "/root/.profile": 161, "/etc/hostname": 13,
                  "/workspace/.keep": 0, "/var/log/dpkg.log": 28456}
    if record.get("onstart"):
        tree["/root/onstart.sh"] = len(str(record["onstart"]).encode())
        tree["/var/log/onstart.log"] = 4096
    return tree


def tree_of(extra: dict[str, JSON], key: str, starter: Tree | None = None) -> Tree:
    """The stored tree for ``C.<id>`` or ``V.<id>``, made from ``starter`` on first use."""
    trees = extra.setdefault(FILES, {})
    if key not in trees:
        trees[key] = dict(starter or {})
    tree: Tree = trees[key]
    return tree


def forget(extra: dict[str, JSON], key: str) -> None:
    extra.get(FILES, {}).pop(key, None)


def prune(extra: dict[str, JSON], alive: Callable[[str], bool]) -> None:
    """Drop the trees of containers and volumes that are gone (their ids are never reused)."""
    trees = extra.get(FILES, {})
    for key in [k for k in trees if not alive(k)]:
        del trees[key]


def clean(path: str) -> str:
    """An absolute normalised path; relative paths start at the container root."""
    return posixpath.normpath("/" + path.strip()).replace("//", "/")


@dataclass
class Fs:
    """A container's view: its own tree at ``/`` and each mounted volume tree at its path."""

    mounts: list[tuple[str, Tree]]

    def _mount(self, path: str) -> tuple[str, Tree]:
        best = ("/", self.mounts[0][1])
        for prefix, tree in self.mounts[1:]:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                best = (prefix, tree)
        return best

    def files(self) -> Tree:
        merged: Tree = {}
        for prefix, tree in self.mounts:
            for inner, size in tree.items():
                merged[clean(prefix + "/" + inner) if prefix != "/" else inner] = size
        return merged

    def is_dir(self, path: str) -> bool:
        if path == "/" or any(path == p for p, _ in self.mounts):
            return True
        return any(f.startswith(path.rstrip("/") + "/") for f in self.files())

    def under(self, path: str) -> Tree:
        if path in self.files():
            return {path: self.files()[path]}
        base = path.rstrip("/") + "/"
        return {f: s for f, s in self.files().items() if f.startswith(base) or path == "/"}

    def remove(self, path: str) -> None:
        prefix, tree = self._mount(path)
        for full in self.under(path):
            inner = full if prefix == "/" else clean(full[len(prefix):])
            tree.pop(inner, None)

    def write(self, path: str, size: int) -> None:
        prefix, tree = self._mount(path)
        tree[path if prefix == "/" else clean(path[len(prefix):])] = size


def split_command(command: JSON) -> tuple[str, list[str], list[str]]:
    """(program, flags, operands) of a command the route accepts, else a 400 as Vast.ai gives."""
    text = str(command or "").strip()
    if not text or len(text) > 512 or FORBIDDEN & set(text):
        raise Refusal(400, "invalid_args", "Invalid command given.")
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "Invalid command given.") from exc
    if words[0] not in COMMANDS:
        raise Refusal(400, "invalid_args", f"Invalid command given: only {', '.join(COMMANDS)} are allowed.")
    flags = [w for w in words[1:] if w.startswith("-") and w != "-"]
    operands = [w for w in words[1:] if w not in flags]
    return words[0], flags, operands


def _letters(flags: list[str]) -> set[str]:
    return {c for f in flags if not f.startswith("--") for c in f[1:]}


def _human(size: float) -> str:
    for unit in ("", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            return f"{size:.0f}{unit}" if unit == "" or size >= 10 else f"{size:.1f}{unit}"
        size /= 1024
    return str(size)


def _entries(fs: Fs, path: str) -> dict[str, tuple[bool, int]]:
    """Immediate children of a directory: name -> (is_dir, size)."""
    base = path.rstrip("/") + "/"
    found: dict[str, tuple[bool, int]] = {}
    for full, size in fs.files().items():
        if not full.startswith(base) or full == base:
            continue
        rest = full[len(base):].split("/")
        if len(rest) > 1:
            found[rest[0]] = (True, 4096)
        else:
            found.setdefault(rest[0], (False, size))
    for prefix, _ in fs.mounts[1:]:
        if prefix.startswith(base) and "/" not in prefix[len(base):].strip("/"):
            found[prefix[len(base):].strip("/")] = (True, 4096)
    return found


def ls(fs: Fs, flags: list[str], operands: list[str]) -> list[str]:
    letters = _letters(flags)
    long, human = bool(letters & {"l", "o", "g"}), "h" in letters
    out: list[str] = []
    for given in operands or ["."]:
        path = clean(given)
        if not fs.is_dir(path):
            if path not in fs.files():
                out.append(f"ls: cannot access '{given}': No such file or directory")
                continue
            entries = {given: (False, fs.files()[path])}
        else:
            entries = {n: e for n, e in _entries(fs, path).items() if "a" in letters or not n.startswith(".")}
            if "a" in letters:
                entries = {".": (True, 4096), "..": (True, 4096), **entries}
        if len(operands) > 1 and fs.is_dir(path):
            out.append(f"{given}:")
        names = sorted(entries, reverse="r" in letters)
        if long and fs.is_dir(path):
            out.append(f"total {sum(math.ceil(entries[n][1] / 1024) for n in names)}")
        for name in names:
            is_dir, size = entries[name]
            if not long:
                out.append(name)
                continue
            mode = "drwxr-xr-x" if is_dir else "-rw-r--r--"
            owner = "root" if "o" in letters else "root root"
            out.append(f"{mode} 1 {owner} {_human(size) if human else size:>6} {STAMP} {name}")
    return out


def _depth(flags: list[str], operands: list[str]) -> int | None:
    for flag in flags:
        if flag.startswith("--max-depth="):
            return int(flag.split("=", 1)[1])
        if flag.startswith("-d") and flag[2:].isdigit():
            return int(flag[2:])
    if "-d" in flags and operands and operands[0].isdigit():
        return int(operands.pop(0))
    return 0 if "s" in _letters(flags) else None


def du(fs: Fs, flags: list[str], operands: list[str]) -> list[str]:
    try:
        depth = _depth(flags, operands)
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "Invalid command given: bad du depth.") from exc
    human = "h" in _letters(flags)
    out: list[str] = []
    for given in operands or ["."]:
        path = clean(given)
        files = fs.under(path)
        if not files and not fs.is_dir(path):
            out.append(f"du: cannot access '{given}': No such file or directory")
            continue
        root = path.rstrip("/")
        dirs: set[tuple[str, ...]] = {()}
        kib_in: dict[tuple[str, ...], int] = {}
        for full, size in files.items():
            parts = tuple(full[len(root):].strip("/").split("/")[:-1])
            for level in range(len(parts) + 1):
                dirs.add(parts[:level])
                kib_in[parts[:level]] = kib_in.get(parts[:level], 0) + math.ceil(size / 1024)
        sizes = {posixpath.join(given, *d) if d else given:  # a directory itself takes 4 KiB
                 (len(d), kib_in.get(d, 0) + 4 * sum(1 for e in dirs if e[:len(d)] == d)) for d in dirs}
        for name, (level, kib) in sorted(sizes.items(), key=lambda item: (-item[1][0], item[0])):
            if depth is None or level <= depth:
                out.append(f"{_human(kib * 1024) if human else kib}\t{name}")
    return out


def rm(fs: Fs, flags: list[str], operands: list[str]) -> list[str]:
    letters = _letters(flags) | ({"r"} if "--recursive" in flags else set())
    out: list[str] = []
    if not operands:
        return ["rm: missing operand"]
    for given in operands:
        path = clean(given)
        if path == "/" or any(path == prefix for prefix, _ in fs.mounts):
            out.append(f"rm: refusing to remove '{given}'")
        elif path in fs.files():
            fs.remove(path)
        elif fs.is_dir(path):
            if "r" not in letters and "R" not in letters:
                out.append(f"rm: cannot remove '{given}': Is a directory")
            else:
                fs.remove(path)
        elif "f" not in letters:
            out.append(f"rm: cannot remove '{given}': No such file or directory")
    return out


def execute(fs: Fs, command: JSON) -> str:
    """Run one allowed command and return what it prints."""
    program, flags, operands = split_command(command)
    run = {"ls": ls, "du": du, "rm": rm}[program]
    lines = run(fs, flags, operands)
    return "\n".join(lines) + ("\n" if lines else "")


def copy_tree(source: Fs, src_path: str, target: Fs, dst_path: str) -> int:
    """``rsync -a SRC DST`` semantics: a trailing slash copies the contents; returns files copied."""
    src, dst = clean(src_path), clean(dst_path)
    files = source.under(src)
    if not files:
        raise Refusal(400, "invalid_args", f"Invalid src_path: {src_path} does not exist.")
    base = src if src_path.endswith("/") or src in files else posixpath.dirname(src.rstrip("/"))
    if src in files:
        base = posixpath.dirname(src)
    for full, size in files.items():
        target.write(clean(dst + "/" + full[len(base.rstrip("/")):]), size)
    return len(files)
