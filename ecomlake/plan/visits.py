"""Every cart's (customer, slot, timestamp): first visit, Poisson repeats with lognormal gaps,
reactivation and seasonal extras, decided once over the whole world window.

Visits past the window end are dropped, never squeezed in, and no visit precedes signup.
A cart's key is `customer << SLOT_BITS | slot`; all later draws for the cart hang off that key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.plan.calendar import US_PER_DAY, month_index
from ecomlake.plan.customers import CustomerPlan
from ecomlake.plan.groups import group_cumsum, group_ranks
from ecomlake.plan.lexicon import NONE, Lexicon
from ecomlake.rng import Rng
from ecomlake.rng import streams as s

SLOT_BITS = 17
MAX_REPEATS = 4000  # Poisson draws are capped so that slots stay unique
REACTIVATION_SLOT = 4095
COPY_SLOT_BASE = 4096
MAX_SEASONAL_COPIES = 16
DEFAULT_LAMBDA = 0.1
DEFAULT_GAP = ((30, 180), 0.6)
_HOUR_US = 3_600_000_000


@dataclass
class VisitPlan:
    """One row per cart, unsorted."""

    customer: np.ndarray  # int64
    slot: np.ndarray  # int64
    ts_us: np.ndarray  # int64 microseconds since epoch

    @property
    def key(self) -> np.ndarray:
        return (self.customer << SLOT_BITS) | self.slot


def key_customer(key: np.ndarray) -> np.ndarray:
    """The customer of each cart key: carts sorted by time take it from their keys, without a
    gather of the visits' customers."""
    return key >> SLOT_BITS


def key_is_reactivation(key: np.ndarray) -> np.ndarray:
    """Whether each cart key is a reactivation visit's (its slot is REACTIVATION_SLOT)."""
    return (key & ((1 << SLOT_BITS) - 1)) == REACTIVATION_SLOT


def build_visits(
    cfg: EcomConfig, lex: Lexicon, rng: Rng, cust: CustomerPlan, start: int, end: int
) -> VisitPlan:
    """All visits of all shoppers inside [start, end]."""
    shoppers = cust.numbers()[cust.shopper]
    first = _first_visit_day(cfg, rng, cust, shoppers, start, end)
    keep = first <= end
    shoppers, first = shoppers[keep], first[keep]

    rep_cust, rep_slot, rep_day = _repeat_visits(cfg, lex, rng, cust, shoppers, first, end)
    react = cfg.parameters.reactivation_settings
    has_react = rng.bernoulli(s.VISIT_REACTIVATION, shoppers, react.probability)
    react_day = first + rng.integers(s.VISIT_REACTIVATION_DELAY, shoppers, *react.delay_days_range)
    react_ok = has_react & (react_day <= end)

    customer = np.concatenate([shoppers, rep_cust, shoppers[react_ok]])
    slot = np.concatenate(
        [np.zeros(len(shoppers), np.int64), rep_slot, np.full(react_ok.sum(), REACTIVATION_SLOT)]
    )
    day = np.concatenate([first, rep_day, react_day[react_ok]])
    ts = day * US_PER_DAY + _time_of_day(rng, customer, slot)
    base = VisitPlan(customer, slot, ts)
    return _with_seasonal_extras(cfg, rng, cust, base, start, end)


def _first_visit_day(
    cfg: EcomConfig, rng: Rng, cust: CustomerPlan, ids: np.ndarray, start: int, end: int
) -> np.ndarray:
    """Signup + delay for registered customers; a uniform day for guests and early signups."""
    lo, hi = cfg.parameters.time_to_first_cart_days_range
    signup = cust.signup_day[cust.local(ids)].astype(np.int64)
    delayed = signup + rng.integers(s.VISIT_FIRST_DELAY, ids, lo, hi)
    fallback = rng.integers(s.VISIT_FIRST_FALLBACK, ids, start, end)
    guest = cust.is_guest(ids)
    return np.where(guest | (delayed < start), fallback, delayed)


def _time_of_day(rng: Rng, customer: np.ndarray, slot: np.ndarray) -> np.ndarray:
    return rng.integers(s.VISIT_TIME_OF_DAY, customer, 0, US_PER_DAY - 1, index=slot)


def _repeat_visits(
    cfg: EcomConfig,
    lex: Lexicon,
    rng: Rng,
    cust: CustomerPlan,
    shoppers: np.ndarray,
    first: np.ndarray,
    end: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson(λ) repeat visits per shopper, each a lognormal gap after the previous one."""
    lam, gap_lo, gap_mu, gap_sigma = _segment_parameters(cfg, lex, cust, shoppers)
    count = np.minimum(rng.poisson(s.VISIT_REPEAT_COUNT, shoppers, lam), MAX_REPEATS)
    # Per-repeat values are gathers through the repeat's shopper (monotone, so cache-friendly),
    # not one np.repeat per array.
    owner, slot = group_ranks(count)
    slot += 1
    customer = shoppers[owner]
    raw = rng.lognormal(s.VISIT_GAP, customer, gap_mu[owner], gap_sigma[owner], index=slot)
    gap = np.maximum(gap_lo[owner], np.floor(raw).astype(np.int64))
    day = group_cumsum(gap, count)  # the repeat's gaps so far, after its shopper's first day
    day += first[owner]
    keep = day <= end
    return customer[keep], slot[keep], day[keep]


def _segment_parameters(
    cfg: EcomConfig, lex: Lexicon, cust: CustomerPlan, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """λ and gap parameters per shopper from its (signup channel, initial tier) segment."""
    rps = cfg.parameters.repeat_purchase_settings
    channels = [*lex.signup_channels, "default"]
    tiers = [*lex.tiers, "default"]
    lam_table = np.zeros((len(channels), len(tiers)))
    lo_table = np.zeros_like(lam_table, dtype=np.int64)
    mu_table = np.zeros_like(lam_table)
    sigma_table = np.zeros_like(lam_table)
    for i, ch in enumerate(channels):
        prop = rps.propensity_by_channel_and_tier
        block = prop.get(ch, prop.get("default", {}))
        delays = rps.time_delay_by_channel_and_tier
        dblock = delays.get(ch, delays.get("default", {}))
        for j, tier in enumerate(tiers):
            lam_table[i, j] = block.get(tier, block.get("default", DEFAULT_LAMBDA))
            spec = dblock.get(tier, dblock.get("default"))
            (lo, hi), sigma = (spec.range, spec.sigma) if spec else DEFAULT_GAP
            lo_table[i, j] = lo
            sigma_table[i, j] = sigma
            mu_table[i, j] = np.log((lo + hi) / 2.0) - sigma**2 / 2.0
    at = cust.local(ids)
    ch_idx = np.where(cust.channel[at] == NONE, len(channels) - 1, cust.channel[at])
    tier_idx = np.where(cust.tier[at] == NONE, len(tiers) - 1, cust.tier[at])
    cell = ch_idx.astype(np.intp) * len(tiers) + tier_idx  # one index into the flat tables
    lam = lam_table.ravel()[cell] * _retention_shock(cfg, cust, ids)
    return lam, lo_table.ravel()[cell], mu_table.ravel()[cell], sigma_table.ravel()[cell]


def _retention_shock(cfg: EcomConfig, cust: CustomerPlan, ids: np.ndarray) -> np.ndarray:
    """Multiplier on λ for registered customers who signed up in a shocked month."""
    shocks = cfg.parameters.retention_shocks
    factor = np.ones(len(ids))
    if not shocks:
        return factor
    registered = ~cust.is_guest(ids)
    shocked = {int(np.datetime64(k, "M").astype(np.int64)): v for k, v in shocks.items()}
    months = month_index(cust.signup_day[cust.local(ids[registered])])
    lookup = np.ones(max(shocked) + 2 if shocked else 1)
    for month, value in shocked.items():
        if month >= 0:
            lookup[month] = value
    inside = (months >= 0) & (months < len(lookup))
    factor[np.flatnonzero(registered)[inside]] = lookup[months[inside]]
    return factor


def _with_seasonal_extras(
    cfg: EcomConfig, rng: Rng, cust: CustomerPlan, base: VisitPlan, start: int, end: int
) -> VisitPlan:
    """Extra carts for repeaters in months whose factor f > 1: floor(f-1) + Bernoulli(frac)."""
    factors = cfg.parameters.seasonal_factors
    month_factor = np.ones(13)
    for month, f in factors.items():
        month_factor[month] = f
    if len(base.ts_us) == 0:
        return base
    # Month and extra of each day of the visits' range, then of each visit by its day: one
    # gather per visit rather than the month arithmetic and the factor per visit.
    at = base.ts_us // US_PER_DAY
    first_day = int(at.min())
    day_month = month_index(np.arange(first_day, int(at.max()) + 1))
    day_extra = np.maximum(month_factor[day_month % 12 + 1] - 1.0, 0.0)
    at -= first_day  # each visit's day as an offset into the range
    extra = day_extra[at]
    # Only repeaters' visits in a month with extras can have copies (a Bernoulli(0) is never
    # true): the draws and the rest run on those rows alone.
    counts = np.bincount(cust.local(base.customer), minlength=cust.size)
    rows = np.flatnonzero(extra > 0)
    rows = rows[counts[cust.local(base.customer[rows])] > 1]
    extra = extra[rows]
    whole = np.floor(extra)
    key = (base.customer[rows] << SLOT_BITS) | base.slot[rows]
    copies = whole + rng.bernoulli(s.VISIT_SEASONAL_EXTRA, key, extra - whole)
    copies = np.minimum(copies, MAX_SEASONAL_COPIES).astype(np.int64)
    if copies.sum() == 0:
        return base
    copy_of, c = group_ranks(copies)
    src = rows[copy_of]
    slot = COPY_SLOT_BASE + base.slot[src] * MAX_SEASONAL_COPIES + c
    customer = base.customer[src]
    offset = rng.integers(s.VISIT_SEASONAL_DAYS, customer, 0, 3 * US_PER_DAY, index=slot)
    offset += rng.integers(
        s.VISIT_SEASONAL_HOURS, customer, -12 * _HOUR_US, 12 * _HOUR_US, index=slot
    )
    ts = base.ts_us[src] + offset
    copy_day = ts // US_PER_DAY
    signup = cust.signup_day[cust.local(customer)]
    keep = (
        (month_index(copy_day) == day_month[at[src]])
        & (copy_day >= start)
        & (copy_day <= end)
        & (cust.is_guest(customer) | (copy_day >= signup))
    )
    return VisitPlan(
        customer=np.concatenate([base.customer, customer[keep]]),
        slot=np.concatenate([base.slot, slot[keep]]),
        ts_us=np.concatenate([base.ts_us, ts[keep]]),
    )
