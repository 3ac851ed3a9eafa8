"""The numbers behind the HTML report's charts that are not rows of the table: rows per table
per day, the funnel, first-return delays and the initial -> earned tier progression."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ecomlake.plan.calendar import day_date
from ecomlake.plan.world import WorldPlan
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.stats.returns import DelayLaw, lag_histogram

if TYPE_CHECKING:
    import duckdb


def collect(
    con: duckdb.DuckDBPyConnection,
    world: WorldPlan,
    facts: dict[str, np.ndarray],
    held: Sequence[int],
) -> dict:
    """Chart series by chart name (plain lists and dicts, ready to draw); `held`: the day
    numbers the lake's runs wrote."""
    law = DelayLaw(world.config.parameters.return_timing_distribution)
    labels, realized, expected = lag_histogram(facts, law)
    return {
        "rows_per_day": _rows_per_day(con, {day_date(d).isoformat() for d in held}),
        "funnel": _funnel(con, facts),
        "return_lag": {
            "labels": labels,
            "configured": [float(w) for w in law.weight],
            "expected": expected,
            "realized": realized,
        },
        "tier_progression": con.execute(
            "SELECT coalesce(initial_loyalty_tier, '(none)'), coalesce(loyalty_tier, '(none)'),"
            " count(*) FROM customers WHERE NOT is_guest GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall(),
    }


def _rows_per_day(
    con: duckdb.DuckDBPyConnection, held: set[str]
) -> dict[str, list[tuple[str, int]]]:
    """Rows of each date-partitioned table per day the lake holds: a day it does not hold is
    a gap, not a day without sales (customers who signed up before the window, or on days
    another run wrote, sit in other partitions)."""
    out = {}
    for name in TABLE_NAMES:
        rows = con.execute(
            f"SELECT _part_value, count(*) FROM {name} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        if rows and all(len(str(v)) == 10 for v, _ in rows):
            out[name] = [(str(v), int(n)) for v, n in rows if str(v) in held]
    return out


def _funnel(con: duckdb.DuckDBPyConnection, facts: dict[str, np.ndarray]) -> list[tuple[str, int]]:
    carts, converted = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'converted') FROM shopping_carts"
    ).fetchone()
    orders = len(facts["order_day"])
    returned = int((facts["day1"] >= 0).sum())
    return [("carts", carts), ("converted", converted), ("orders", orders), ("returned", returned)]
