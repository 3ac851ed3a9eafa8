"""Categorical mixes drawn independently per unit: signup channels, initial tiers, order
channels, shipping speeds, payment methods (restricted per order channel), expedited flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ecomlake.plan.lexicon import Lexicon
from ecomlake.plan.world import WorldPlan
from ecomlake.render.order_facts import payment_cdf
from ecomlake.stats.checks import Check, share_check
from ecomlake.stats.source import LakeSource

if TYPE_CHECKING:
    import duckdb

P = "parameters."


def mix_checks(con: duckdb.DuckDBPyConnection, src: LakeSource, world: WorldPlan) -> list[Check]:
    """One row per category of every independently drawn mix."""
    p, lex = src.config.parameters, world.lexicon
    checks = _mix(
        con,
        P + "signup_channel_distribution",
        p.signup_channel_distribution,
        "SELECT signup_channel, count(*) FROM customers WHERE NOT is_guest GROUP BY 1",
    )
    checks += _mix(
        con,
        P + "order_channel_distribution",
        p.order_channel_distribution,
        "SELECT order_channel, count(*) FROM orders GROUP BY 1",
    )
    checks += _mix(
        con,
        P + "shipping_speed_distribution",
        p.shipping_speed_distribution,
        "SELECT shipping_speed, count(*) FROM orders GROUP BY 1",
    )
    checks += _tiers(con, src, lex)
    checks += _payments(con, src, world)
    n, hits = con.execute("SELECT count(*), count(*) FILTER (is_expedited) FROM orders").fetchone()
    q = p.expedited_pct / 100.0
    checks.append(
        share_check(P + "expedited_pct", None, p.expedited_pct, hits, n, n * q, n * q * (1 - q))
    )
    return checks


def _mix(
    con: duckdb.DuckDBPyConnection, knob: str, weights: dict[str, float], sql: str
) -> list[Check]:
    """One binomial row per category of a multinomial mix."""
    counts = dict(con.execute(sql).fetchall())
    n = sum(counts.values())
    total = sum(weights.values())
    rows = []
    for name, weight in weights.items():
        q = weight / total
        rows.append(share_check(knob, name, weight, counts.get(name, 0), n, n * q, n * q * (1 - q)))
    return rows


def _tiers(con: duckdb.DuckDBPyConnection, src: LakeSource, lex: Lexicon) -> list[Check]:
    """Initial tier per signup channel; `no_tier_probability` leaves a registered one without."""
    p = src.config.parameters
    rows = con.execute(
        "SELECT signup_channel, initial_loyalty_tier, count(*) FROM customers "
        "WHERE NOT is_guest GROUP BY 1, 2"
    ).fetchall()
    by_channel: dict[str, dict[str | None, int]] = {}
    for channel, tier, count in rows:
        by_channel.setdefault(channel, {})[tier] = count
    dists = p.loyalty_distribution_by_channel
    fallback = dists.get("default", [1.0] * len(lex.tiers))
    checks = []
    none_hits = none_n = 0
    for channel in lex.signup_channels:
        counts = by_channel.get(channel, {})
        n = sum(counts.values())
        weights = np.array(dists.get(channel, fallback), dtype=float)
        shares = (1.0 - p.no_tier_probability) * weights / weights.sum()
        for tier, q in zip(lex.tiers, shares, strict=True):
            checks.append(
                share_check(
                    P + "loyalty_distribution_by_channel",
                    f"{channel}/{tier}",
                    float(weights[lex.tiers.index(tier)]),
                    counts.get(tier, 0),
                    n,
                    n * q,
                    n * q * (1 - q),
                )
            )
        none_hits += counts.get(None, 0)
        none_n += n
    q = p.no_tier_probability
    checks.append(
        share_check(
            P + "no_tier_probability", None, q, none_hits, none_n, none_n * q, none_n * q * (1 - q)
        )
    )
    return checks


def _payments(con: duckdb.DuckDBPyConnection, src: LakeSource, world: WorldPlan) -> list[Check]:
    """Payment method per order: the global mix restricted to the order channel's methods."""
    lex = world.lexicon
    cdf = payment_cdf(world)
    probs = np.diff(np.concatenate([np.zeros((len(cdf), 1)), cdf], axis=1), axis=1)
    rows = con.execute(
        "SELECT order_channel, payment_method, count(*) FROM orders GROUP BY 1, 2"
    ).fetchall()
    per_channel = dict.fromkeys(lex.order_channels, 0)
    hits = dict.fromkeys(lex.payment_methods, 0)
    for channel, method, count in rows:
        if channel in per_channel:
            per_channel[channel] += count
        if method in hits:
            hits[method] += count
    n = sum(per_channel.values())
    checks = []
    weights = src.config.parameters.global_payment_method_distribution
    for j, method in enumerate(lex.payment_methods):
        q = np.array([probs[i, j] for i in range(len(lex.order_channels))])
        units = np.array([per_channel[c] for c in lex.order_channels], dtype=float)
        p_sum, var = float((units * q).sum()), float((units * q * (1 - q)).sum())
        checks.append(
            share_check(
                P + "global_payment_method_distribution",
                method,
                weights[method],
                hits[method],
                n,
                p_sum,
                var,
            )
        )
    return checks
