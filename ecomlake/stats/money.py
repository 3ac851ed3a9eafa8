"""Shipping prices, shipping costs to the shop and payment fees: exact rules per order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlake.plan.world import WorldPlan
from ecomlake.stats.checks import Check, bound_check

if TYPE_CHECKING:
    import duckdb

P = "parameters."
CENT = 0.011  # one cent of rounding, and float noise


def money_checks(con: duckdb.DuckDBPyConnection, world: WorldPlan) -> list[Check]:
    """Price per speed, actual cost = base x (1 + U(low, high)), fee = net x rate."""
    p = world.config.parameters
    business = p.financials.shipping_business_costs
    lo, hi = business.cost_variance_pct
    checks = []
    for speed in world.lexicon.speeds:
        price, base = p.shipping_costs[speed], business.base_costs[speed]
        n, wrong, low, high = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE abs(shipping_cost - ?) > ?),"
            " min(actual_shipping_cost)::DOUBLE, max(actual_shipping_cost)::DOUBLE FROM orders"
            " WHERE shipping_speed = ?",
            [price, CENT, speed],
        ).fetchone()
        checks.append(
            bound_check(
                P + "shipping_costs",
                speed,
                price,
                None if n == 0 else price if wrong == 0 else "other values",
                n,
                wrong == 0,
            )
        )
        inside = n == 0 or (low >= base * (1 + lo) - CENT and high <= base * (1 + hi) + CENT)
        seen = None if n == 0 else [low, high]
        checks.append(
            bound_check(
                P + "financials.shipping_business_costs",
                speed,
                [round(base * (1 + lo), 2), round(base * (1 + hi), 2)],
                seen,
                n,
                inside,
            )
        )
    for method, rate in p.financials.payment_fee_rates.items():
        n, wrong = con.execute(
            "SELECT count(*), count(*) FILTER"
            " (WHERE abs(payment_processing_fee - round(net_total * ?, 2)) > ?)"
            " FROM orders WHERE payment_method = ?",
            [rate, CENT, method],
        ).fetchone()
        checks.append(
            bound_check(
                P + "financials.payment_fee_rates",
                method,
                rate,
                None if n == 0 else f"{n - wrong} of {n} match",
                n,
                wrong == 0,
            )
        )
    return checks
