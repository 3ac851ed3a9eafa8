"""Returns, with the window's censoring: a return dated past the window end is never made, so
an order placed t days before the end is returned with chance rate x F(t), F the CDF of the
return delay (a bucket of return_timing_distribution, uniform inside it)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ecomlake.plan.world import WorldPlan
from ecomlake.stats.checks import Check, share_check
from ecomlake.stats.held import HeldDays

if TYPE_CHECKING:
    import duckdb

P = "parameters."
_ORDERS = """
WITH items AS (SELECT order_id, count(*) AS n FROM order_items GROUP BY 1),
ri AS (SELECT return_id, count(*) AS k FROM return_items GROUP BY 1),
rr AS (
  SELECT r.order_id, datediff('day', DATE '1970-01-01', r.return_date) AS day, r.reason, ri.k,
         row_number() OVER (PARTITION BY r.order_id ORDER BY r.return_date, r.return_id) AS e
  FROM returns r LEFT JOIN ri USING (return_id)
)
SELECT datediff('day', DATE '1970-01-01', CAST(o.order_date AS DATE)) AS order_day,
       CASE WHEN cu.is_guest THEN NULL ELSE cu.signup_channel END AS channel,
       coalesce(items.n, 0) AS n, coalesce(r1.day, -1) AS day1, r1.reason AS reason1,
       coalesce(r1.k, 0) AS k1, coalesce(r2.day, -1) AS day2
FROM orders o LEFT JOIN customers cu USING (customer_id) LEFT JOIN items USING (order_id)
LEFT JOIN rr r1 ON r1.order_id = o.order_id AND r1.e = 1
LEFT JOIN rr r2 ON r2.order_id = o.order_id AND r2.e = 2
"""


class DelayLaw:
    """The return delay of return_timing_distribution: P(bucket b) uniform on [low_b, high_b]."""

    def __init__(self, table: list[tuple[int, float]]) -> None:
        self.high = np.array([d for d, _ in table], dtype=np.int64)
        self.low = np.concatenate([[1], self.high[:-1] + 1])
        self.weight = np.diff(np.concatenate([[0.0], [c for _, c in table]]))

    def within(self, days: np.ndarray) -> np.ndarray:
        """(units, buckets): chance the delay falls in each bucket and is at most `days`."""
        days = np.asarray(days, dtype=np.float64)[:, None]
        span = (self.high - self.low + 1).astype(np.float64)
        return self.weight * np.clip((days - self.low + 1) / span, 0.0, 1.0)

    def cdf(self, days: np.ndarray) -> np.ndarray:
        return self.within(days).sum(axis=1)

    def labels(self) -> list[str]:
        return [f"{lo}-{hi} days" for lo, hi in zip(self.low, self.high, strict=True)]


def return_facts(con: duckdb.DuckDBPyConnection, held: HeldDays) -> dict[str, np.ndarray]:
    """Per order on a held day: day, signup channel, items, the day `end` its returns are
    censored at, its first return (day, reason, items) and whether a second one follows."""
    facts = con.execute(_ORDERS).fetchnumpy()
    keep = held.holds(facts["order_day"])
    facts = {name: column[keep] for name, column in facts.items()}
    end = held.run_last(facts["order_day"])
    facts["day1"] = np.where(facts["day1"] > end, -1, facts["day1"])  # its reason, items unread
    facts["second"] = (facts["day2"] >= 0) & (facts["day2"] <= end)
    facts["end"] = end
    return facts


def return_checks(facts: dict[str, np.ndarray], world: WorldPlan) -> list[Check]:
    """Returned share by signup channel and overall, timing buckets, refunds, second returns."""
    p = world.config.parameters
    law = DelayLaw(p.return_timing_distribution)
    end = facts["end"]
    channel = np.array([c if isinstance(c, str) else None for c in facts["channel"]], dtype=object)
    rate = np.array([p.return_rate_by_signup_channel.get(c, p.return_rate) for c in channel])
    chance = rate * law.cdf(end - facts["order_day"])
    returned = facts["day1"] >= 0
    checks = [_shares(P + "return_rate", "all orders", p.return_rate, returned, chance)]
    for name in world.lexicon.signup_channels:
        mine = channel == name
        configured = p.return_rate_by_signup_channel.get(name, p.return_rate)
        checks.append(
            _shares(
                P + "return_rate_by_signup_channel", name, configured, returned[mine], chance[mine]
            )
        )
    return checks + _timing(facts, law, end) + _refunds(facts, world) + _second(facts, law, world)


def _shares(
    knob: str, segment: str | None, configured: float, hits: np.ndarray, chance: np.ndarray
) -> Check:
    n = len(hits)
    return share_check(
        knob,
        segment,
        configured,
        int(hits.sum()),
        n,
        float(chance.sum()),
        float((chance * (1 - chance)).sum()),
    )


def _timing(facts: dict[str, np.ndarray], law: DelayLaw, end: np.ndarray) -> list[Check]:
    """Delay bucket of first returns, given the delay fitted into the window."""
    returned = facts["day1"] >= 0
    delay = (facts["day1"] - facts["order_day"])[returned]
    within = law.within((end - facts["order_day"])[returned])
    given = within / np.maximum(within.sum(axis=1, keepdims=True), 1e-300)
    checks = []
    for b, label in enumerate(law.labels()):
        hits = (delay >= law.low[b]) & (delay <= law.high[b])
        checks.append(
            _shares(
                P + "return_timing_distribution",
                label,
                round(float(law.weight[b]), 6),
                hits,
                given[:, b],
            )
        )
    return checks


def _refunds(facts: dict[str, np.ndarray], world: WorldPlan) -> list[Check]:
    """A first return takes all n items with the reason's full_return_prob, else 1..n items
    uniformly, so it takes all of them with chance p + (1 - p) / n."""
    lex = world.lexicon
    returned = facts["day1"] >= 0
    reason = np.array([str(r) for r in facts["reason1"][returned]], dtype=object)
    n = np.maximum(facts["n"][returned], 1)
    full = facts["k1"][returned] == n
    checks = []
    for i, name in enumerate(lex.reasons):
        mine = reason == name
        q = float(lex.reason_full_prob[i])
        chance = q + (1 - q) / n[mine]
        checks.append(
            _shares(P + "refund_behavior_by_reason.full_return_prob", name, q, full[mine], chance)
        )
    return checks


def _second(facts: dict[str, np.ndarray], law: DelayLaw, world: WorldPlan) -> list[Check]:
    """A first return leaving items behind is followed by a second one with
    multi_return_probability, if that falls in the window too."""
    q = world.config.parameters.multi_return_probability
    eligible = (facts["day1"] >= 0) & (facts["k1"] < facts["n"])
    base = np.maximum(facts["order_day"], facts["day1"] + 1)[eligible]
    chance = q * law.cdf(facts["end"][eligible] - base)
    return [_shares(P + "multi_return_probability", None, q, facts["second"][eligible], chance)]


def lag_histogram(
    facts: dict[str, np.ndarray], law: DelayLaw
) -> tuple[list[str], list[float], list[float]]:
    """First-return delays per bucket: realized shares and the censored model's shares."""
    returned = facts["day1"] >= 0
    delay = (facts["day1"] - facts["order_day"])[returned]
    within = law.within((facts["end"] - facts["order_day"])[returned])
    expected = within / np.maximum(within.sum(axis=1, keepdims=True), 1e-300)
    total = max(len(delay), 1)
    realized = [
        float(((delay >= lo) & (delay <= hi)).sum()) / total
        for lo, hi in zip(law.low, law.high, strict=True)
    ]
    expect = (
        [float(v) / total for v in expected.sum(axis=0)]
        if len(delay)
        else [math.nan] * len(law.low)
    )
    return law.labels(), realized, expect
