"""Commands that look without changing anything: graph (the dependency graph in DOT) and offers
(the marketplace, searched with the same filters as a stack's ``offer:`` block)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from vastplan.cli.options import Command, common_options, json_option, open_session, variable_options
from vastplan.errors import UsageError

if TYPE_CHECKING:
    from vastplan.commands.session import Session


@click.command("graph", cls=Command)
@common_options
@variable_options
@click.pass_context
def graph_command(ctx: click.Context, **flags: Any) -> None:
    """The stack's dependency graph, in DOT (pipe it to `dot -Tpng`)."""
    from vastplan.addresses import sort_key
    from vastplan.apply.dag.graph import Graph
    from vastplan.commands.pipeline import load

    session = open_session(ctx, **flags)
    stack = load(session.opts)
    graph = Graph((r.address for r in stack.resources), key=sort_key)
    for spec in stack.resources:
        for dep in spec.depends_on:
            graph.add_edge(dep, spec.address)
    graph.topological_order()  # a cycle is reported, not drawn
    session.view.result(graph.to_dot(), graph.to_dot().rstrip("\n"))
    ctx.exit(0)


@click.command("offers", cls=Command)
@common_options
@click.argument("filters", default="{}", metavar="FILTERS")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--interruptible", is_flag=True, help="Bid prices (interruptible) instead of on-demand.")
@json_option("document", "The offers as JSON, as the API gives them.")
@click.pass_context
def offers_command(ctx: click.Context, filters: str, limit: int, interruptible: bool, **flags: Any) -> None:
    """Search the marketplace. FILTERS is a YAML mapping like a stack's offer: block, e.g.
    '{gpu_name: RTX 4090, num_gpus: 1, dph_total: {lte: 0.6}, geolocation: [US, CA]}'."""
    import asyncio

    import yaml

    try:
        block = yaml.safe_load(filters)
    except yaml.YAMLError as exc:
        raise UsageError(f"FILTERS is not YAML: {exc}") from exc
    if not isinstance(block, dict):
        raise UsageError("FILTERS must be a mapping, e.g. '{gpu_name: RTX 4090, num_gpus: 1}'")
    session = open_session(ctx, **flags)
    rows = asyncio.run(_search(session, block, limit, interruptible))
    session.view.result(rows, _table(rows, interruptible) if rows else "No offer matches these filters.")
    ctx.exit(0)


async def _search(session: Session, block: dict[str, Any], limit: int,
                  interruptible: bool) -> list[dict[str, Any]]:
    from vastplan.api.instances import search_offers
    from vastplan.api.offers import offer_query, order_clause

    async with session.client() as client:
        return await search_offers(client, offer_query(block), order=order_clause(block.get("order")),
                                   offer_type="bid" if interruptible else "on-demand", limit=limit)


def _table(rows: list[dict[str, Any]], interruptible: bool) -> str:
    """The offers in 80 columns: prices without the $ their header names, the bid price only for a bid
    search, and the location cut short when a GPU name leaves it no room."""
    from vastplan.render.text import table

    price = "min_bid" if interruptible else "dph_total"
    cells = [[r.get("id"), f"{r.get('num_gpus')}x {r.get('gpu_name')}", round(float(r.get("gpu_ram") or 0) / 1024),
              r.get("geolocation"), f"{float(r.get('reliability') or 0):.3f}", r.get("cuda_max_good"),
              f"{float(r.get(price) or 0):.3f}", r.get("machine_id")]
             for r in rows]
    return table(["offer", "GPUs", "VRAM", "location", "rel.", "CUDA", "min bid" if interruptible else "$/hr",
                  "machine"], cells, narrow=3, right=(0, 2, 4, 5, 6, 7))


def register_explore_commands(cli: click.Group) -> None:
    for command in (graph_command, offers_command):
        cli.add_command(command)
