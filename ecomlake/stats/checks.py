"""One row of the stats table and how it is judged: a z-score against a Bonferroni limit, or an
exact bound; rows with too few observations are shown but not judged (`ok` is None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import numpy as np

FAMILY_ALPHA = 0.001  # chance that a clean lake fails any check of the whole table
MIN_EXPECTED = 5.0  # expected successes and failures a binomial z needs to be near normal
MIN_UNITS = 20  # observations a mean needs before its z is judged


@dataclass(frozen=True)
class Check:
    """A knob's configured value, the model's expectation in the lake's window, the lake's value.

    `z` is None for exact-bound checks (then `ok` is already decided) and for rows not judged.
    `df` is the degrees of freedom of a z whose spread was estimated from plan replicates.
    """

    knob: str
    segment: str | None
    configured: Any
    expected: Any
    realized: Any
    n: int
    z: float | None = None
    ok: bool | None = None
    df: int | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "knob": self.knob,
            "segment": self.segment,
            "configured": _rounded(self.configured),
            "expected": _rounded(self.expected),
            "realized": _rounded(self.realized),
            "n": int(self.n),
            "z": None if self.z is None else round(float(self.z), 3),
            "ok": None if self.ok is None else bool(self.ok),
        }


def _rounded(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, decimals (money) and floats to 6 places."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def share_check(
    knob: str, segment: str | None, configured: Any, hits: int, n: int, p_sum: float, var: float
) -> Check:
    """Hits among n units whose chances add up to `p_sum` (a Poisson-binomial, variance `var`)."""
    expected = p_sum / n if n else None
    realized = hits / n if n else None
    if n == 0:
        return Check(knob, segment, configured, expected, realized, 0, note="no observations")
    if var <= 1e-12:  # every chance is 0 or 1: the count is exact
        ok = abs(hits - p_sum) < 0.5
        return Check(knob, segment, configured, expected, realized, n, ok=bool(ok), note="exact")
    if p_sum < MIN_EXPECTED or n - p_sum < MIN_EXPECTED:
        return Check(knob, segment, configured, expected, realized, n, note="n too small")
    return Check(
        knob, segment, configured, expected, realized, n, z=(hits - p_sum) / math.sqrt(var)
    )


def mean_check(
    knob: str,
    segment: str | None,
    configured: Any,
    realized: float | None,
    n: int,
    expected: float,
    sd_of_mean: float,
    df: int | None = None,
) -> Check:
    """A mean of n units against its expectation and the standard deviation of that mean."""
    if n < MIN_UNITS or realized is None:
        return Check(knob, segment, configured, expected, realized, n, note="n too small")
    if sd_of_mean <= 1e-12:
        ok = abs(realized - expected) < 1e-9
        return Check(knob, segment, configured, expected, realized, n, ok=bool(ok), note="exact")
    z = (realized - expected) / sd_of_mean
    return Check(knob, segment, configured, expected, realized, n, z=z, df=df)


def bound_check(
    knob: str, segment: str | None, configured: Any, realized: Any, n: int, ok: bool
) -> Check:
    """Every unit must lie inside the configured bound; `realized` shows what was seen. With
    no unit there is nothing to judge (`ok` null, as for every row not judged)."""
    if n == 0:
        return Check(knob, segment, configured, configured, realized, 0, note="no observations")
    bound = "exact bound"
    return Check(knob, segment, configured, configured, realized, n, ok=bool(ok), note=bound)


def judge(checks: list[Check]) -> list[Check]:
    """Decide `ok` of every z-scored row with one limit for the whole table (Bonferroni), so a
    clean lake fails any row with chance about FAMILY_ALPHA however many rows there are."""
    scored = [c for c in checks if c.z is not None]
    limit = z_limit(len(scored))
    return [
        c if c.z is None else replace(c, z=float(c.z), ok=bool(abs(c.z) <= _widened(limit, c.df)))
        for c in checks
    ]


def z_limit(m: int) -> float:
    """Two-sided normal quantile for FAMILY_ALPHA split over m tests."""
    return NormalDist().inv_cdf(1.0 - FAMILY_ALPHA / (2 * max(m, 1)))


def _widened(limit: float, df: int | None) -> float:
    """Student-t quantile from the normal one (first Cornish-Fisher term) when the spread was
    estimated from df replicates: a few replicates must not make a clean lake fail."""
    if df is None:
        return limit
    return limit * (1.0 + (limit**2 + 1.0) / (4.0 * df))
