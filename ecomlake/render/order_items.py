"""order_items: today's orders' cart lines merged per product (quantity and discount summed),
sorted by order_id then product_id; cost_price is the catalog cost.
"""

from __future__ import annotations

import pyarrow as pa

from ecomlake.plan.ids import order_ids, sequence
from ecomlake.render import schemas
from ecomlake.render.columns import integers, labels, money, table
from ecomlake.render.context import DayContext


def render(ctx: DayContext) -> pa.Table:
    world = ctx.world
    lines = ctx.order_lines
    catalog = world.catalog
    product = lines.product
    return table(
        schemas.ORDER_ITEMS,
        {
            "order_id": order_ids(sequence(ctx.world.orders, ctx.order_positions[lines.cart])),
            "product_id": integers(product + 1),
            "product_name": labels(catalog.names, catalog.name[product]),
            "category": labels(world.lexicon.categories, catalog.category[product]),
            "quantity": integers(lines.quantity),
            "unit_price": money(lines.price_cents),
            "discount_amount": money(lines.discount_cents),
            "cost_price": money(catalog.cost_cents[product]),
        },
    )
