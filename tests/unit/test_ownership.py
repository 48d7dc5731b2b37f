"""The ownership marker with workspaces: the default workspace keeps the marker it always had, and no
workspace's marker prefix ever matches another's (what orphans, reap, destroy and adoption search by)."""

from __future__ import annotations

import itertools

from vastplan.kinds.ownership import Marker, marker, owner, parse_marker, strip_marker
from vastplan.stack import load_stack


def test_the_default_workspace_keeps_the_old_marker() -> None:
    assert marker(owner("shop"), "instances.box[0]") == "vp:shop/instances.box[0]"
    assert parse_marker("vp:shop/instances.box[0] mine") == Marker("shop", "instances.box[0]", "default")


def test_a_named_workspace_is_part_of_the_marker() -> None:
    text = marker(owner("shop", "prod"), "volumes.data") + " own label"
    assert text == "vp:shop@prod/volumes.data own label"
    assert parse_marker(text) == Marker("shop", "volumes.data", "prod")
    assert strip_marker(text) == "own label"


def test_no_owner_prefix_matches_another_owners_marker() -> None:
    owners = [owner(s, w) for s, w in itertools.product(["shop", "shop-2", "sho"], ["default", "prod", "prod2", "p"])]
    for mine, theirs in itertools.product(owners, owners):
        if mine != theirs:
            assert not marker(theirs, "instances.box").startswith(marker(mine, "")), (mine, theirs)


def test_workspace_is_interpolated_in_the_stack(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\nstack: shop\n"
                    'variables:\n  tag: {default: "t-${workspace}"}\n'
                    'instances:\n  box:\n    image: "ubuntu"\n    label: "env-${workspace} ${var.tag}"\n'
                    '    onstart: "echo ${HOME}"\n    offer: {num_gpus: 1}\n')
    stack = load_stack(path, workspace="prod")
    spec = stack.by_address()["instances.box"]
    assert spec.config["label"] == "env-prod t-prod" and spec.config["onstart"] == "echo ${HOME}"
    assert stack.owner == "shop@prod" and load_stack(path).owner == "shop"
