"""What a set of days holds, read from the plan without rendering: each partition and its rows.

The run's work estimate and `verify`'s expected lake both count from here, so they agree with
what a run writes (tested). Customer partitions `signup_dt=X` belong to the first day on or
after X and the catalog to the first day, so a lake of any days holds every customer who signed
up by its last day and the whole catalog.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecomlake.plan.calendar import day_date
from ecomlake.plan.carts import EMPTIED
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.registry import CATALOG_TABLE, SIGNUP_TABLE

Partition = tuple[str, str]  # (table, partition value)


def owned_signup_days(days: Sequence[int], signup_days: np.ndarray) -> list[tuple[int, ...]]:
    """Per day (sorted day numbers): the signup days whose customer partitions it writes."""
    owned = []
    previous = None
    for day in days:
        low = -np.inf if previous is None else previous
        chosen = signup_days[(signup_days > low) & (signup_days <= day)]
        owned.append(tuple(int(d) for d in chosen))
        previous = day
    return owned


def day_contexts(world: WorldPlan, days: Sequence[int]) -> list[DayContext]:
    """One context per day, owning the dimension partitions a run of exactly `days` writes."""
    days = sorted(set(days))
    owned = owned_signup_days(days, world.signup_days())
    return [
        DayContext(world, day, signups, owns_catalog=i == 0)
        for i, (day, signups) in enumerate(zip(days, owned, strict=True))
    ]


def partition_rows(ctx: DayContext) -> dict[Partition, int]:
    """Rows of each partition the task of `ctx` writes; a table with no rows that day has none."""
    world = ctx.world
    found = {(name, ctx.day_iso): n for name, n in day_rows(world, ctx.day).items() if n > 0}
    for day in ctx.signup_days:
        found[(SIGNUP_TABLE, day_date(day).isoformat())] = len(world.customers_on(day))
    if ctx.owns_catalog:
        counts = world.catalog.category_counts()
        for category, n in zip(world.lexicon.categories, counts, strict=True):
            if n > 0:
                found[(CATALOG_TABLE, category)] = int(n)
    return found


def day_rows(world: WorldPlan, day: int) -> dict[str, int]:
    """Rows of each transactional table on `day` (zero included)."""
    carts, orders, returns = world.carts_on(day), world.orders_on(day), world.returns_on(day)
    kept = world.carts.status[carts] != EMPTIED  # emptied carts lose their lines
    return {
        "shopping_carts": carts.stop - carts.start,
        "cart_items": int(world.carts.n_lines[carts][kept].sum()),
        "orders": orders.stop - orders.start,
        "order_items": int(world.orders.n_products[orders].sum()),
        "returns": returns.stop - returns.start,
        "return_items": int(world.returns.n_lines[returns].sum()),
    }
