"""Knobs whose effect only the whole visit model tells, censoring included: repeat visits by
(signup channel, initial tier), retention shocks, seasonality, reactivation, earned tiers and
CLV buckets. Their expectation is the mean over replicate worlds planned from the same config
and window with other seeds (ecomlake/plan), their spread the replicates' spread. A lake holding
only some days of its window is compared with the replicates' carts and orders of those days."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomlake.errors import OptionError
from ecomlake.plan.calendar import US_PER_DAY
from ecomlake.plan.lexicon import NONE
from ecomlake.plan.world import WorldPlan, build_world
from ecomlake.stats.checks import Check, mean_check
from ecomlake.stats.held import HeldDays

if TYPE_CHECKING:
    import duckdb

DEFAULT_REPLICATES = 20
P = "parameters."
REPEAT = P + "repeat_purchase_settings.propensity_by_channel_and_tier"
SHOCK, SEASON = P + "retention_shocks", P + "seasonal_factors"
REACTIVATION = P + "reactivation_settings.probability"
TIER, CLV = P + "tier_spend_thresholds", P + "clv_spend_thresholds"
DEFAULT = "default"
Key = tuple[str, str | None]


def lake_people(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """Registered customers of the lake with their segment, signup month, carts and status."""
    return con.execute(
        "SELECT cu.signup_channel AS channel, coalesce(cu.initial_loyalty_tier, 'default') AS tier,"
        " strftime(cu.signup_date, '%Y-%m') AS month, coalesce(c.n, 0) AS carts,"
        " cu.loyalty_tier AS final_tier, cu.clv_bucket AS clv FROM customers cu"
        " LEFT JOIN (SELECT customer_id, count(*) AS n FROM shopping_carts GROUP BY 1) c"
        " USING (customer_id) WHERE NOT cu.is_guest"
    ).fetchnumpy()


def lake_months(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(
        con.execute(
            "SELECT strftime(created_at, '%Y-%m'), count(*) FROM shopping_carts GROUP BY 1"
        ).fetchall()
    )


def lake_reactivated(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FILTER (WHERE is_reactivated) FROM orders").fetchone()[0]


def plan_people(world: WorldPlan, held: HeldDays) -> dict[str, np.ndarray]:
    """The same facts as `lake_people`, from a plan: customers written by runs up to the last
    held day (every signup partition up to it) and their carts on held days."""
    lex, cust = world.lexicon, world.customers
    reg = np.flatnonzero(cust.signup_day[: cust.n_registered] <= held.days.max(initial=-1))
    carts = world.carts.customer[held.holds(world.carts.ts_us // US_PER_DAY)]
    tiers = np.array([*lex.tiers, DEFAULT], dtype=object)
    return {
        "channel": np.array(lex.signup_channels, dtype=object)[cust.channel[reg]],
        "tier": tiers[np.where(cust.tier[reg] == NONE, len(lex.tiers), cust.tier[reg])],
        "month": _month_names(cust.signup_day[reg]),
        "carts": np.bincount(carts, minlength=cust.size)[reg],
        "final_tier": np.array(lex.earned_tiers.names, dtype=object)[cust.final_tier[reg]],
        "clv": np.array(lex.clv_buckets.names, dtype=object)[cust.final_clv[reg]],
    }


def plan_months(world: WorldPlan, held: HeldDays) -> dict[str, int]:
    days = world.carts.ts_us // US_PER_DAY
    names, counts = np.unique(_month_names(days[held.holds(days)]), return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))


def _month_names(days: np.ndarray) -> np.ndarray:
    """'YYYY-MM' of each day number; formatting each distinct month once keeps a six-year
    plan's millions of days from being turned into strings one by one."""
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    distinct, index = np.unique(months, return_inverse=True)
    return distinct.astype(str).astype(object)[index]


def plan_reactivated(world: WorldPlan, held: HeldDays) -> int:
    cart = world.orders.cart
    on_held = held.holds(world.carts.ts_us[cart] // US_PER_DAY)
    return int(world.carts.is_reactivation[cart[on_held]].sum())


def statistics(
    people: dict[str, np.ndarray], months: dict[str, int], reactivated: int
) -> dict[Key, tuple[float, int]]:
    """(value, units) of every replicate-judged statistic, from lake or plan facts alike."""
    out: dict[Key, tuple[float, int]] = {}
    carts = np.asarray(people["carts"], dtype=np.int64)
    shopper = carts > 0
    channel, tier, month = (
        np.asarray(people[k], dtype=object)[shopper] for k in ("channel", "tier", "month")
    )
    segment = _labels(channel, tier)
    for knob, labels in ((REPEAT, segment), (SHOCK, month)):
        codes, names = pd.factorize(labels)
        units = np.bincount(codes, minlength=len(names))
        total = np.bincount(codes, weights=carts[shopper], minlength=len(names))
        for i, name in enumerate(names):
            out[(knob, str(name))] = (float(total[i] / units[i] - 1), int(units[i]))
    for m, count in months.items():
        out[(SEASON, m)] = (float(count), int(count))
    out[(REACTIVATION, None)] = (float(reactivated), int(reactivated))
    n = len(carts)
    for knob, column in ((TIER, "final_tier"), (CLV, "clv")):
        codes, names = pd.factorize(np.asarray(people[column], dtype=object))  # None: -1
        counts = np.bincount(codes[codes >= 0], minlength=len(names))
        for i, name in enumerate(names):
            out[(knob, str(name))] = (float(counts[i] / n), n)
    return out


def _labels(channel: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """'channel/tier' of each unit, each distinct pair formatted once."""
    ch_codes, ch_names = pd.factorize(channel)
    tier_codes, tier_names = pd.factorize(tier)
    pairs, index = np.unique(ch_codes * len(tier_names) + tier_codes, return_inverse=True)
    names = [f"{ch_names[p // len(tier_names)]}/{tier_names[p % len(tier_names)]}" for p in pairs]
    return np.array(names, dtype=object)[index]


MAX_REPLICATES = 1000  # the Student-t limit barely moves past 200


def check_replicates(replicates: object) -> None:
    """Fail with one line before any work: a spread needs at least two replicate worlds, and
    each one is a whole plan (a second or more), so a typo of 100000 would run for a day."""
    whole = isinstance(replicates, int) and not isinstance(replicates, bool)
    if not whole or not 2 <= replicates <= MAX_REPLICATES:
        raise OptionError(
            "",
            f"{{replicates}}: must be a whole number from 2 to {MAX_REPLICATES} (the spread of "
            f"the replicate worlds needs two; each is a whole plan), got {replicates!r}",
            "replicates",
        )


def replicate_checks(
    realized: dict[Key, tuple[float, int]], world: WorldPlan, replicates: int, held: HeldDays
) -> list[Check]:
    """Each realized statistic against the mean and spread of `replicates` other worlds."""
    runs = [_replicate(world, r, held) for r in range(replicates)]
    checks = []
    for key in sorted(set(realized) | set().union(*runs), key=lambda k: _order(k, world)):
        if not _reported(key, world):
            continue
        values = np.array([run.get(key, (0.0, 0))[0] for run in runs])
        mean, sd = float(values.mean()), float(values.std(ddof=1)) if replicates > 1 else 0.0
        value, n = realized.get(key, (0.0, 0))
        spread = sd * np.sqrt(1 + 1 / replicates)
        row = mean_check(
            key[0], key[1], _configured(key, world), value, n, mean, spread, replicates - 1
        )
        checks.append(row)
    return checks


def _order(key: Key, world: WorldPlan) -> tuple:
    """Rows by knob; tiers and CLV buckets in the config's order (Bronze before Gold), the
    other segments by name."""
    knob, segment = key
    p = world.config.parameters
    ranked = {TIER: list(p.tier_spend_thresholds), CLV: list(p.clv_spend_thresholds)}.get(knob)
    if ranked is not None and segment in ranked:
        return knob, 0, ranked.index(segment), ""
    return knob, 1, 0, str(segment)


def _replicate(world: WorldPlan, r: int, held: HeldDays) -> dict[Key, tuple[float, int]]:
    other = build_world(
        world.config, world.seed + 1_000_003 * (r + 1), world.start_day, world.end_day
    )
    return statistics(
        plan_people(other, held), plan_months(other, held), plan_reactivated(other, held)
    )


def _reported(key: Key, world: WorldPlan) -> bool:
    """Shock rows only for the configured months; every other row always."""
    return key[0] != SHOCK or key[1] in world.config.parameters.retention_shocks


def _configured(key: Key, world: WorldPlan) -> object:
    p = world.config.parameters
    knob, segment = key
    if knob == REPEAT and segment is not None:
        channel, tier = segment.split("/", 1)
        prop = p.repeat_purchase_settings.propensity_by_channel_and_tier
        block = prop.get(channel, prop.get(DEFAULT, {}))
        return block.get(tier, block.get(DEFAULT))
    if knob == SHOCK:
        return p.retention_shocks.get(segment or "", 1.0)
    if knob == SEASON:
        return p.seasonal_factors.get(int((segment or "0-0").split("-")[1]), 1.0)
    if knob == REACTIVATION:
        return p.reactivation_settings.probability
    thresholds = p.tier_spend_thresholds if knob == TIER else p.clv_spend_thresholds
    return thresholds.get(segment or "")
