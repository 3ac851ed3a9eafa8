"""Customer facts that cross days: signup day, channel, initial tier, who shops at all.

Registered customers come first (indices 0..n_registered-1), then guests. Guests get their
signup day later, from their first visit (a guest exists from the moment it first shops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.plan.lexicon import NONE, Lexicon
from ecomlake.plan.sorting import stable_argsort_wide
from ecomlake.rng import Rng, cumulative
from ecomlake.rng import streams as s


@dataclass
class CustomerPlan:
    """Per-customer arrays indexed by customer number."""

    n_registered: int
    signup_day: np.ndarray  # int32; guests: first visit day, or -1 if they never shop
    channel: np.ndarray  # int8 into lexicon.signup_channels; NONE for guests
    tier: np.ndarray  # int8 initial tier into lexicon.tiers; NONE for guests and no-tier
    enrollment_day: np.ndarray  # int32, -1 without a tier
    shopper: np.ndarray  # bool: one of the initial shoppers
    final_tier: np.ndarray  # int8 into lexicon.earned_tiers.names; NONE for guests
    final_clv: np.ndarray  # int8 into lexicon.clv_buckets.names; NONE for guests

    @property
    def size(self) -> int:
        return len(self.signup_day)

    def is_guest(self, idx: np.ndarray) -> np.ndarray:
        return np.asarray(idx) >= self.n_registered


def build_customers(
    cfg: EcomConfig, lex: Lexicon, rng: Rng, start_day: int, end_day: int
) -> CustomerPlan:
    """Draw every customer's signup facts and pick the initial shoppers."""
    lookup = cfg.lookup_config.customers
    p = cfg.parameters
    n = lookup.num_customers
    n_registered = int(n * (1.0 - lookup.guest_shopper_pct))
    reg = np.arange(n_registered, dtype=np.int64)

    signup_start = end_day - 365 * p.signup_years
    signup = rng.integers(s.CUSTOMER_SIGNUP, reg, signup_start, end_day)
    channel = rng.categorical(
        s.CUSTOMER_CHANNEL, reg, list(p.signup_channel_distribution.values())
    ).astype(np.int8)
    tier = _initial_tiers(cfg, lex, rng, reg, channel)
    enrollment = np.where(
        tier != NONE, rng.integers(s.CUSTOMER_ENROLLMENT, reg, signup, end_day), -1
    )

    guests = n - n_registered
    table = cfg.table("shopping_carts")
    k = n if table is None or table.generate is None else min(table.generate, n)
    order = stable_argsort_wide(rng.priority(s.CUSTOMER_SHOPPER, np.arange(n)))
    shopper = np.zeros(n, dtype=bool)
    shopper[order[:k]] = True

    return CustomerPlan(
        n_registered=n_registered,
        signup_day=np.concatenate([signup, np.full(guests, -1)]).astype(np.int32),
        channel=np.concatenate([channel, np.full(guests, NONE, np.int8)]),
        tier=np.concatenate([tier, np.full(guests, NONE, np.int8)]),
        enrollment_day=np.concatenate([enrollment, np.full(guests, -1)]).astype(np.int32),
        shopper=shopper,
        final_tier=np.full(n, NONE, np.int8),
        final_clv=np.full(n, NONE, np.int8),
    )


def _initial_tiers(
    cfg: EcomConfig, lex: Lexicon, rng: Rng, ids: np.ndarray, channel: np.ndarray
) -> np.ndarray:
    """Tier at signup from the channel's tier mix; `no_tier_probability` leaves it empty."""
    dists = cfg.parameters.loyalty_distribution_by_channel
    fallback = dists.get("default", [1.0 / len(lex.tiers)] * len(lex.tiers))
    table = np.array([cumulative(dists.get(ch, fallback)) for ch in lex.signup_channels])
    tier = rng.categorical_rows(s.CUSTOMER_TIER, ids, table, channel.astype(np.int64))
    has_tier = rng.bernoulli(s.CUSTOMER_HAS_TIER, ids, 1.0 - cfg.parameters.no_tier_probability)
    return np.where(has_tier, tier, NONE).astype(np.int8)
