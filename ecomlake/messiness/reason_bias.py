"""Return-reason bias: a share of returns get a reason drawn from the weights configured for the
lower-case category of the order's first item (`default` otherwise), as the older tool intended.

Only runs when `parameters.return_reason_bias_schemas[intensity]` exists. The first item is
derived from the plan (the order's merged lines, lowest product id first, as order_items sorts).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.messiness.levels import reason_bias_schema
from ecomlake.render.context import DayContext
from ecomlake.render.lines import order_lines
from ecomlake.rng import streams as s

DEFAULT_KEY = "default"


def first_item_categories(ctx: DayContext) -> np.ndarray:
    """Lower-case category of the first order item of each of today's returns (row order)."""
    world = ctx.world
    orders, inverse = np.unique(world.returns.order[ctx.return_positions], return_inverse=True)
    merged = order_lines(world, orders)
    first = np.full(len(orders), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, merged.cart, merged.product)
    names = np.array([c.lower() for c in world.lexicon.categories] + [DEFAULT_KEY])
    has_lines = first < np.iinfo(np.int64).max
    category = np.where(has_lines, world.catalog.category[np.where(has_lines, first, 0)], -1)
    return names[category[inverse]]


def bias_reasons(cells: Cells, values: pa.Array) -> pa.Array:
    """Overwrite the reason of the hit rows with one drawn from their category's weights."""
    schema = reason_bias_schema(cells.ctx.world.config, cells.level)
    if not schema:
        return values
    if len(values) != len(cells.ctx.return_positions):
        raise ValueError("returns: rows do not line up with the day's return positions")
    hit = cells.draw(s.MESS_REASON_BIAS, cells.level.reason_bias, values)
    if not hit.any():
        return values
    category = first_item_categories(cells.ctx)
    fallback = schema.get(DEFAULT_KEY)
    labels: list[str] = []
    picked = np.full(len(values), -1, dtype=np.int64)
    for key in np.unique(category[hit]):  # the categories present: a small vocabulary
        weights = schema.get(str(key), fallback)
        if not weights or sum(weights.values()) <= 0:
            continue
        rows = hit & (category == key)
        draw = cells.rng.categorical(
            s.MESS_REASON_PICK, cells.keys[rows], list(weights.values()), index=cells.code
        )
        picked[rows] = draw + len(labels)
        labels.extend(weights)
    if not labels:
        return values
    chosen = pa.array(labels, pa.string()).take(pa.array(np.maximum(picked, 0)))
    return pc.if_else(pa.array(picked >= 0), chosen, values)
