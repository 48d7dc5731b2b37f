"""The order of independent changes: natural index order, not text order (``[2]`` before ``[10]``).

With ``--parallelism 1`` the order is observable: one change at a time, taken in the executor's order.
"""

from __future__ import annotations

import re

from tests.harness import Workspace

COUNTED = """
version: 1
stack: counted
instances:
  worker:
    count: 12
    image: ubuntu
    tag: "22.04"
    offer: {num_gpus: 1}
"""


def addresses_at(out: str, event: str) -> list[str]:
    """The addresses of the output lines ``ADDR: <event>``, in the order printed."""
    return re.findall(rf"^(\S+): {re.escape(event)}", out, flags=re.MULTILINE)


def workers(indexes: range) -> list[str]:
    return [f"instances.worker[{i}]" for i in indexes]


def test_creation_goes_in_natural_order_and_destroy_in_reverse(workspace: Workspace) -> None:
    workspace.write(COUNTED)
    applied = workspace.vastplan("apply", "--auto-approve", "--parallelism", "1")
    assert applied.code == 0, applied.text
    assert addresses_at(applied.out, "Creating...") == workers(range(12))

    destroyed = workspace.vastplan("destroy", "--auto-approve", "--parallelism", "1")
    assert destroyed.code == 0, destroyed.text
    assert addresses_at(destroyed.out, "Destroying...") == workers(range(11, -1, -1))
    assert addresses_at(destroyed.out, "Destruction complete") == workers(range(11, -1, -1))
    assert workspace.state()["resources"] == {}


def test_the_state_commands_list_in_natural_order_and_match_like_target(workspace: Workspace) -> None:
    workspace.write(COUNTED.replace("count: 12", "count: 11"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    listed = workspace.vastplan("state", "list")
    assert re.findall(r"^(\S+)  id=", listed.out, flags=re.MULTILINE) == workers(range(11))
    whole = workspace.vastplan("state", "show", "instances.worker")
    assert whole.code == 1 and f"(it has {', '.join(workers(range(11)))})" in whole.err, whole.text
    malformed = workspace.vastplan("state", "rm", "worker[1]")
    assert malformed.code == 1 and "worker[1] is not an address: expected COLLECTION.NAME" in malformed.err
    assert len(workspace.state()["resources"]) == 11


def test_graph_lists_the_nodes_in_natural_order(workspace: Workspace) -> None:
    workspace.write(COUNTED)
    drawn = workspace.vastplan("graph")
    assert drawn.code == 0, drawn.text
    assert re.findall(r'^  "(\S+)";$', drawn.out, flags=re.MULTILINE) == workers(range(12))
