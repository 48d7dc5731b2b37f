"""The commands execute may run, on a container with a mounted volume: argv in, output out."""

from __future__ import annotations

import pytest

from vastsandbox.world.container_fs import Fs, copy_tree, execute, starter_tree
from vastsandbox.world.errors import Refusal


def container() -> Fs:
    return Fs([("/", starter_tree({"onstart": "echo hi"})), ("/data", {"/models/a.bin": 5_000_000})])


CASES = [
    ("ls", "data\netc\nroot\nvar\nworkspace\n"),
    ("ls -a /root", ".\n..\n.bashrc\n.profile\nonstart.sh\n"),
    ("ls -r /root", "onstart.sh\n"),
    ("ls -l data/models", "total 4883\n-rw-r--r-- 1 root root 5000000 Jan  1 00:00 a.bin\n"),
    ("ls -lo -h data/models", "total 4883\n-rw-r--r-- 1 root   4.8M Jan  1 00:00 a.bin\n"),
    ("ls /nope", "ls: cannot access '/nope': No such file or directory\n"),
    ("du -s /data", "4891\t/data\n"),
    ("du -h -d 1 /var", "36K\t/var/log\n40K\t/var\n"),
    ("rm /root", "rm: cannot remove '/root': Is a directory\n"),
    ("rm /data", "rm: refusing to remove '/data'\n"),
    ("rm -f /nope", ""),
    ("rm", "rm: missing operand\n"),
]


@pytest.mark.parametrize(("command", "output"), CASES, ids=[c for c, _ in CASES])
def test_command_output(command: str, output: str) -> None:
    assert execute(container(), command) == output


def test_rm_reaches_into_a_mounted_volume() -> None:
    volume = {"/models/a.bin": 1, "/models/b.bin": 2}
    fs = Fs([("/", {}), ("/data", volume)])
    assert execute(fs, "rm -r /data/models") == ""
    assert volume == {}


@pytest.mark.parametrize("command", ["cat /etc/passwd", "ls; id", "ls `id`", "ls > x", "", "x" * 600])
def test_anything_else_is_refused(command: str) -> None:
    with pytest.raises(Refusal) as refused:
        execute(container(), command)
    assert refused.value.status == 400 and refused.value.msg.startswith("Invalid command given")


def test_copy_follows_rsync_trailing_slash_rule() -> None:
    source = Fs([("/", {"/w/a": 1, "/w/sub/b": 2})])
    contents, folder = Fs([("/", {})]), Fs([("/", {})])
    assert copy_tree(source, "/w/", contents, "/x") == 2
    assert copy_tree(source, "/w", folder, "/x") == 2
    assert contents.files() == {"/x/a": 1, "/x/sub/b": 2}
    assert folder.files() == {"/x/w/a": 1, "/x/w/sub/b": 2}
    with pytest.raises(Refusal):
        copy_tree(source, "/nope", folder, "/x")
