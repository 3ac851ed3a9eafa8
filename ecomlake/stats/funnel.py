"""The cart funnel: conversion (boosted until a customer's first order), cart size and
quantities by initial tier, emptied abandoned carts, and line discounts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ecomlake.plan.lines import LineModel
from ecomlake.plan.world import WorldPlan
from ecomlake.stats.checks import Check, bound_check, mean_check, share_check
from ecomlake.stats.held import HeldDays
from ecomlake.stats.source import PENDING_DAYS

if TYPE_CHECKING:
    import duckdb

P = "parameters."
DEFAULT = "default"
# Carts numbered per customer in time order, with the number of the first converted one, and
# whether every day from the start of the customer's carts (the window start, or its signup if
# later) to the cart is held, so that the numbering sees all of the customer's earlier carts.
_CART_ORDER = """
WITH h AS (SELECT unnest($day) AS day, unnest($first) AS run_first),
c AS (
  SELECT s.customer_id, s.status, cu.signup_channel, cu.is_guest,
         row_number() OVER (PARTITION BY s.customer_id ORDER BY s.cart_id) AS k,
         h.run_first <= greatest($start, coalesce(
           datediff('day', DATE '1970-01-01', CAST(cu.signup_date AS DATE)), $start)) AS seen
  FROM shopping_carts s LEFT JOIN customers cu USING (customer_id)
  JOIN h ON h.day = datediff('day', DATE '1970-01-01', CAST(s.created_at AS DATE))
), f AS (
  SELECT customer_id, min(k) FILTER (WHERE status = 'converted') AS first_k FROM c GROUP BY 1
)
SELECT CASE WHEN is_guest THEN NULL ELSE signup_channel END,
       k <= coalesce(first_k, k) AS before_first, seen,
       count(*), count(*) FILTER (WHERE status = 'converted')
FROM c JOIN f USING (customer_id) GROUP BY 1, 2, 3
"""


def funnel_checks(con: duckdb.DuckDBPyConnection, world: WorldPlan, held: HeldDays) -> list[Check]:
    """Conversion, first-purchase boost, cart sizes, emptying and discounts."""
    return (
        _conversion(con, world, held)
        + _cart_sizes(con, world)
        + _emptied(con, world)
        + _discounts(con, world)
    )


def _conversion(con: duckdb.DuckDBPyConnection, world: WorldPlan, held: HeldDays) -> list[Check]:
    """Carts after a customer's first order convert at the plain rate; those up to it at the
    boosted rate (each cart is a fresh draw, so the count minus its chances is unbiased).
    A cart after an order in the lake is known to be past the first; one before any is only
    known to be up to the first when the lake holds every day of the customer's carts."""
    p = world.config.parameters
    rate = p.conversion_rate
    plain_n = plain_hits = 0
    boosted: dict[str | None, list[int]] = {}
    days, first = held.runs()
    rows = con.execute(
        _CART_ORDER, {"start": world.start_day, "day": days, "first": first}
    ).fetchall()
    for channel, before, seen, n, hits in rows:
        if before and not seen:
            continue
        if before:
            seen = boosted.setdefault(channel, [0, 0])
            seen[0] += n
            seen[1] += hits
        else:
            plain_n += n
            plain_hits += hits
    var = plain_n * rate * (1 - rate)
    checks = [
        share_check(P + "conversion_rate", None, rate, plain_hits, plain_n, plain_n * rate, var)
    ]
    for channel in world.lexicon.signup_channels:
        n, hits = boosted.get(channel, [0, 0])
        boost = p.first_purchase_conversion_boost.get(channel, 1.0)
        q = min(rate * boost, 1.0)
        checks.append(
            share_check(
                P + "first_purchase_conversion_boost",
                channel,
                boost,
                hits,
                n,
                n * q,
                n * q * (1 - q),
            )
        )
    return checks


def _tier_name(tier: str | None, model_tiers: tuple[str, ...], listed: dict) -> str:
    """The cart-behaviour row a customer's initial tier uses (guests, no tier: default)."""
    return tier if tier in model_tiers and tier in listed else DEFAULT


def _cart_sizes(con: duckdb.DuckDBPyConnection, world: WorldPlan) -> list[Check]:
    """Lines per kept cart and quantity per line: uniform integers in the tier's ranges."""
    model: LineModel = world.line_model
    lex, behaviours = world.lexicon, world.config.parameters.cart_behavior_by_tier
    rows = {
        "item_count_range": con.execute(
            "SELECT cu.initial_loyalty_tier, n, count(*) FROM ("
            "  SELECT s.customer_id, count(i.cart_item_id) AS n FROM shopping_carts s"
            "  LEFT JOIN cart_items i USING (cart_id) WHERE s.status <> 'emptied'"
            f"  AND s._part_value NOT IN (SELECT day FROM {PENDING_DAYS})"
            "  GROUP BY s.cart_id, s.customer_id)"
            " LEFT JOIN customers cu USING (customer_id) GROUP BY 1, 2"
        ).fetchall(),
        "quantity_range": con.execute(
            "SELECT cu.initial_loyalty_tier, i.quantity, count(*) FROM cart_items i"
            " JOIN shopping_carts s USING (cart_id) LEFT JOIN customers cu USING (customer_id)"
            " GROUP BY 1, 2"
        ).fetchall(),
    }
    checks = []
    for field, found in rows.items():
        table = model.item_range if field == "item_count_range" else model.quantity_range
        ranges = {t: tuple(int(v) for v in table[i]) for i, t in enumerate(lex.tiers)}
        ranges[DEFAULT] = tuple(int(v) for v in table[-1])
        counts: dict[str, dict[int, int]] = {}
        for tier, value, count in found:
            name = _tier_name(tier, lex.tiers, behaviours)
            counts.setdefault(name, {})
            counts[name][value] = counts[name].get(value, 0) + count
        for name in [*[t for t in lex.tiers if t in behaviours], DEFAULT]:
            checks += _uniform_rows(
                f"{P}cart_behavior_by_tier.{field}", name, ranges[name], counts.get(name, {})
            )
    return checks


def _uniform_rows(
    knob: str, segment: str, bounds: tuple[int, int], counts: dict[int, int]
) -> list[Check]:
    """A mean against the uniform integers' mean, and every value inside the range."""
    lo, hi = bounds
    n = sum(counts.values())
    mean = sum(v * c for v, c in counts.items()) / n if n else None
    sd = math.sqrt(((hi - lo + 1) ** 2 - 1) / 12.0)
    seen = [min(counts), max(counts)] if counts else None
    inside = all(lo <= v <= hi for v in counts)
    return [
        mean_check(knob, segment, [lo, hi], mean, n, (lo + hi) / 2.0, sd / math.sqrt(max(n, 1))),
        bound_check(knob + " (bounds)", segment, [lo, hi], seen, n, inside),
    ]


def _emptied(con: duckdb.DuckDBPyConnection, world: WorldPlan) -> list[Check]:
    q = world.config.parameters.abandoned_cart_emptied_prob
    n, hits = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'emptied') FROM shopping_carts"
        " WHERE status <> 'converted'"
    ).fetchone()
    return [
        share_check(P + "abandoned_cart_emptied_prob", None, q, hits, n, n * q, n * q * (1 - q))
    ]


# Each order item with the number m of its cart's lines merged into it (same product twice).
_ORDER_ITEM_LINES = """
WITH oc AS (
  SELECT o.order_id, s.cart_id FROM orders o JOIN shopping_carts s
    ON s.customer_id = o.customer_id AND s.created_at = o.order_date AND s.status = 'converted'
), m AS (
  SELECT cart_id, product_id, count(*) AS m FROM cart_items GROUP BY 1, 2
)
SELECT m.m, oi.discount_amount, oi.unit_price * oi.quantity AS amount
FROM order_items oi JOIN oc USING (order_id) JOIN m ON m.cart_id = oc.cart_id
  AND m.product_id = oi.product_id
"""


def _discounts(con: duckdb.DuckDBPyConnection, world: WorldPlan) -> list[Check]:
    """An order item is discounted when any of its m merged lines is: 1 - (1 - p)^m; a single
    line's discount is a share of its amount inside range_pct (cents rounding allowed)."""
    settings = world.config.parameters.discount_settings
    q, (lo, hi) = settings.probability, settings.range_pct
    rows = con.execute(
        "SELECT m, count(*), count(*) FILTER (WHERE discount_amount > 0),"
        " count(*) FILTER (WHERE m = 1 AND discount_amount > 0"
        f"   AND (discount_amount < round(amount * {lo}, 2) - 0.011"
        f"   OR discount_amount > round(amount * {hi}, 2) + 0.011)),"
        " min(discount_amount / amount) FILTER (WHERE m = 1 AND discount_amount > 0),"
        " max(discount_amount / amount) FILTER (WHERE m = 1 AND discount_amount > 0)"
        f" FROM ({_ORDER_ITEM_LINES}) GROUP BY 1"
    ).fetchall()
    n = sum(r[1] for r in rows)
    hits = sum(r[2] for r in rows)
    chance = [(1 - (1 - q) ** m, count) for m, count, *_ in rows]
    p_sum = sum(c * k for c, k in chance)
    var = sum(c * (1 - c) * k for c, k in chance)
    outside = sum(r[3] for r in rows)
    lows = [r[4] for r in rows if r[4] is not None]
    highs = [r[5] for r in rows if r[5] is not None]
    seen = [min(lows), max(highs)] if lows else None
    return [
        share_check(P + "discount_settings.probability", None, q, hits, n, p_sum, var),
        bound_check(P + "discount_settings.range_pct", None, [lo, hi], seen, n, outside == 0),
    ]
