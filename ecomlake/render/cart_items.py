"""cart_items: the lines of today's carts, except those of emptied carts (which lost them).

Lines follow their cart's partition even when added_at crosses midnight.
"""

from __future__ import annotations

import pyarrow as pa

from ecomlake.plan.carts import EMPTIED
from ecomlake.plan.ids import cart_ids, sequence
from ecomlake.render import schemas
from ecomlake.render.columns import integers, labels, money, table, timestamps
from ecomlake.render.context import DayContext


def render(ctx: DayContext) -> pa.Table:
    world, pos = ctx.world, ctx.cart_positions
    lines = ctx.cart_lines
    cart = pos[lines.cart]
    keep = world.carts.status[cart] != EMPTIED
    cart, product = cart[keep], lines.product[keep]
    catalog = world.catalog
    return table(
        schemas.CART_ITEMS,
        {
            "cart_item_id": integers(world.carts.first_item_id[cart] + lines.line_no[keep]),
            "cart_id": cart_ids(sequence(world.carts, cart)),
            "product_id": integers(product + 1),
            "product_name": labels(catalog.names, catalog.name[product]),
            "category": labels(world.lexicon.categories, catalog.category[product]),
            "added_at": timestamps(lines.added_us[keep]),
            "quantity": integers(lines.quantity[keep]),
            "unit_price": money(lines.price_cents[keep]),
        },
    )
