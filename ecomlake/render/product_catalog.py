"""product_catalog: the whole catalog, rendered by the one task of a run that owns it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ecomlake.render import schemas
from ecomlake.render.columns import integers, labels, money, table
from ecomlake.render.context import DayContext


def render(ctx: DayContext) -> pa.Table:
    catalog = ctx.world.catalog
    idx = np.arange(catalog.size if ctx.owns_catalog else 0)
    return table(
        schemas.PRODUCT_CATALOG,
        {
            "product_id": integers(idx + 1),
            "product_name": labels(catalog.names, catalog.name[idx]),
            "category": labels(ctx.world.lexicon.categories, catalog.category[idx]),
            "unit_price": money(catalog.price_cents[idx]),
            "cost_price": money(catalog.cost_cents[idx]),
            "inventory_quantity": integers(catalog.inventory[idx]),
        },
    )
