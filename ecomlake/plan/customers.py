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
    # Which customers the arrays hold: numbers base.. in a block of the world (plan/blocks.py),
    # or the sorted numbers `number` in one day's slice of it; the whole world has base 0.
    base: int = 0
    number: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.signup_day)

    def is_guest(self, customer: np.ndarray) -> np.ndarray:
        """Of customer numbers (not array positions)."""
        return np.asarray(customer) >= self.n_registered

    def local(self, customer: np.ndarray) -> np.ndarray:
        """Array positions of customer numbers; the whole world's are the numbers themselves."""
        if self.number is not None:
            return np.searchsorted(self.number, customer)
        return customer - self.base if self.base else np.asarray(customer)

    def numbers(self) -> np.ndarray:
        """The customer number of each array position."""
        if self.number is not None:
            return self.number
        return np.arange(self.base, self.base + self.size, dtype=np.int64)

    def numbers_at(self, positions: np.ndarray) -> np.ndarray:
        """`numbers()[positions]` without building every number (a block plans hundreds of
        day pieces from a million customers)."""
        if self.number is not None:
            return self.number[positions]
        return np.asarray(positions, dtype=np.int64) + self.base


def build_customers(
    cfg: EcomConfig,
    lex: Lexicon,
    rng: Rng,
    start_day: int,
    end_day: int,
    block: tuple[int, int] | None = None,
    shopper_cut: tuple[int, int] | None = None,
) -> CustomerPlan:
    """Draw the signup facts of every customer, or of the numbers `block` = [lo, hi), and pick
    the initial shoppers (a block is given the world's `shopper_cut`, see `shopper_cut`)."""
    lookup = cfg.lookup_config.customers
    p = cfg.parameters
    n = lookup.num_customers
    n_registered = registered_count(cfg)
    lo, hi = block or (0, n)
    reg = np.arange(lo, min(hi, n_registered), dtype=np.int64)

    signup_start = end_day - 365 * p.signup_years
    signup = rng.integers(s.CUSTOMER_SIGNUP, reg, signup_start, end_day)
    channel = rng.categorical(
        s.CUSTOMER_CHANNEL, reg, list(p.signup_channel_distribution.values())
    ).astype(np.int8)
    tier = _initial_tiers(cfg, lex, rng, reg, channel)
    enrollment = np.where(
        tier != NONE, rng.integers(s.CUSTOMER_ENROLLMENT, reg, signup, end_day), -1
    )

    guests = hi - lo - len(reg)
    if block is None:
        shopper = world_shoppers(cfg, rng)
    else:
        shopper = is_shopper(rng, np.arange(lo, hi, dtype=np.int64), shopper_cut)

    return CustomerPlan(
        n_registered=n_registered,
        signup_day=np.concatenate([signup, np.full(guests, -1)]).astype(np.int32),
        channel=np.concatenate([channel, np.full(guests, NONE, np.int8)]),
        tier=np.concatenate([tier, np.full(guests, NONE, np.int8)]),
        enrollment_day=np.concatenate([enrollment, np.full(guests, -1)]).astype(np.int32),
        shopper=shopper,
        final_tier=np.full(hi - lo, NONE, np.int8),
        final_clv=np.full(hi - lo, NONE, np.int8),
        base=lo,
    )


def registered_count(cfg: EcomConfig) -> int:
    """Customers 0..n_registered-1 are registered, the rest guests."""
    lookup = cfg.lookup_config.customers
    return int(lookup.num_customers * (1.0 - lookup.guest_shopper_pct))


def shopper_count(cfg: EcomConfig) -> int:
    """`shopping_carts.generate` customers shop at all (capped by num_customers)."""
    n = cfg.lookup_config.customers.num_customers
    table = cfg.table("shopping_carts")
    return n if table is None or table.generate is None else min(table.generate, n)


# The shoppers are the `shopper_count` customers first in (priority, number) order; the cut is
# the (priority, number) of the last of them, None when every customer shops.
ShopperCut = tuple[int, int] | None


def world_shoppers(cfg: EcomConfig, rng: Rng) -> np.ndarray:
    """Whether each customer of the whole world shops (plan/blocks.py finds the same customers
    block by block, through the cut)."""
    n, k = cfg.lookup_config.customers.num_customers, shopper_count(cfg)
    shopper = np.zeros(n, dtype=bool)
    if k >= n:
        shopper[:] = True
    elif k > 0:
        priority = shopper_priority(rng, np.arange(n, dtype=np.int64))
        shopper[stable_argsort_wide(priority)[:k]] = True
    return shopper


def shopper_priority(rng: Rng, ids: np.ndarray) -> np.ndarray:
    """The shopper priority of each customer number, as int64 (order-preserving)."""
    return (rng.priority(s.CUSTOMER_SHOPPER, ids) ^ np.uint64(1 << 63)).view(np.int64)


def is_shopper(rng: Rng, ids: np.ndarray, cut: ShopperCut) -> np.ndarray:
    """Whether each customer number is at or before the cut in (priority, number) order."""
    if cut is None:
        return np.ones(len(ids), dtype=bool)
    priority = shopper_priority(rng, ids)
    return (priority < cut[0]) | ((priority == cut[0]) & (ids <= cut[1]))


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
