"""Lines re-derived for a day: the same keyed draws the plan made, plus line discounts."""

from __future__ import annotations

import numpy as np

from ecomlake.plan.lines import Lines, MergedLines, draw_discounts, draw_lines, merge_by_product
from ecomlake.plan.world import WorldPlan


def lines_of_carts(world: WorldPlan, carts: np.ndarray) -> Lines:
    """Re-derive the lines of the given cart positions exactly as the plan drew them."""
    plan = world.carts
    customer = world.customers.local(plan.customer[carts])
    return draw_lines(
        world.line_model,
        world.catalog,
        world.rng,
        plan.key[carts],
        plan.ts_us[carts],
        plan.n_lines[carts],
        world.customers.channel[customer],
        world.customers.tier[customer],
        world.end_day,
    )


def order_lines(world: WorldPlan, orders: np.ndarray) -> MergedLines:
    """Merged lines with discounts for the given order positions."""
    carts = world.orders.cart[orders]
    lines = lines_of_carts(world, carts)
    settings = world.config.parameters.discount_settings
    discount = draw_discounts(
        world.rng, world.carts.key[carts], lines, settings.probability, tuple(settings.range_pct)
    )
    return merge_by_product(lines, discount)
