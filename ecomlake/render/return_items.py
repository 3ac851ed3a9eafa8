"""return_items: the lines of today's returns, with quantity returned and pro-rata refund."""

from __future__ import annotations

import pyarrow as pa

from ecomlake.plan.ids import order_ids, return_ids, sequence
from ecomlake.render import schemas
from ecomlake.render.columns import integers, labels, money, table
from ecomlake.render.context import DayContext


def render(ctx: DayContext) -> pa.Table:
    world, pos = ctx.world, ctx.return_positions
    lines = ctx.returned
    plan, catalog = world.returns, world.catalog
    ret = pos[lines.ret]
    return table(
        schemas.RETURN_ITEMS,
        {
            "return_item_id": integers(plan.first_item_id[ret] + lines.line_no),
            "return_id": return_ids(sequence(plan, ret)),
            "order_id": order_ids(sequence(world.orders, plan.order[ret])),
            "product_id": integers(lines.product + 1),
            "product_name": labels(catalog.names, catalog.name[lines.product]),
            "category": labels(world.lexicon.categories, catalog.category[lines.product]),
            "quantity_returned": integers(lines.quantity_returned),
            "unit_price": money(lines.price_cents),
            "cost_price": money(catalog.cost_cents[lines.product]),
            "refunded_amount": money(lines.refund_cents),
        },
    )
