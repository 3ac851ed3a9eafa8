"""Return events, scheduled forward from each order: at most two per order, dated by the
timing distribution, dropped past the window end. Each event takes the next `n_lines` lines of
the order's keyed line ranking, so no line is returned twice and no return is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.plan.calendar import US_PER_DAY
from ecomlake.plan.carts import CartPlan
from ecomlake.plan.customers import CustomerPlan
from ecomlake.plan.lexicon import NONE, Lexicon
from ecomlake.plan.orders import OrderPlan
from ecomlake.rng import Rng
from ecomlake.rng import streams as s


@dataclass
class ReturnPlan:
    """Per-return arrays sorted by (return day, order, event); return seq = position + 1."""

    order: np.ndarray  # position in OrderPlan
    event: np.ndarray  # 0 first return, 1 second
    day: np.ndarray  # int64 return day number
    reason: np.ndarray  # int8 into lexicon.reasons
    skip_lines: np.ndarray  # lines of the order's ranking taken by earlier returns
    n_lines: np.ndarray  # lines this return takes
    first_item_id: np.ndarray  # return_item_id of its first line
    seq: np.ndarray | None = None  # set in a day's slice of a blocked world (plan/ids.py)

    @property
    def size(self) -> int:
        return len(self.order)


def build_returns(
    cfg: EcomConfig,
    lex: Lexicon,
    rng: Rng,
    cust: CustomerPlan,
    carts: CartPlan,
    orders: OrderPlan,
    end_day: int,
) -> ReturnPlan:
    """Draw first and second returns for every order and sort them by date."""
    p = cfg.parameters
    key = carts.key[orders.cart]
    order_day = carts.ts_us[orders.cart] // US_PER_DAY
    channel = cust.channel[cust.local(carts.customer[orders.cart])]
    rates = np.array(
        [p.return_rate_by_signup_channel.get(ch, p.return_rate) for ch in lex.signup_channels]
        + [p.return_rate]
    )
    rate = rates[np.where(channel == NONE, len(lex.signup_channels), channel)]
    n = orders.n_products

    day1 = order_day + _delay(cfg, rng, key, 0)
    ok1 = rng.bernoulli(s.RETURN_HAPPENS, key, rate) & (day1 <= end_day) & (n > 0)
    reason1, k1 = _reason_and_lines(lex, rng, key, 0, n)
    remaining = n - k1
    day2 = np.maximum(order_day, day1 + 1) + _delay(cfg, rng, key, 1)
    ok2 = ok1 & (remaining > 0) & (day2 <= end_day)
    ok2 &= rng.bernoulli(s.RETURN_SECOND, key, p.multi_return_probability)
    reason2, k2 = _reason_and_lines(lex, rng, key, 1, np.maximum(remaining, 1))

    idx1, idx2 = np.flatnonzero(ok1), np.flatnonzero(ok2)
    order = np.concatenate([idx1, idx2])
    event = np.concatenate([np.zeros(len(idx1), np.int64), np.ones(len(idx2), np.int64)])
    day = np.concatenate([day1[idx1], day2[idx2]])
    reason = np.concatenate([reason1[idx1], reason2[idx2]])
    skip = np.concatenate([np.zeros(len(idx1), np.int64), k1[idx2]])
    lines = np.concatenate([k1[idx1], k2[idx2]])
    sort = np.lexsort((event, order, day))
    lines = lines[sort]
    return ReturnPlan(
        order=order[sort],
        event=event[sort],
        day=day[sort],
        reason=reason[sort].astype(np.int8),
        skip_lines=skip[sort],
        n_lines=lines,
        first_item_id=np.cumsum(lines) - lines + 1,
    )


def _delay(cfg: EcomConfig, rng: Rng, key: np.ndarray, event: int) -> np.ndarray:
    """Days after the base date: a bucket of the cumulative timing table, uniform inside it."""
    table = cfg.parameters.return_timing_distribution
    max_days = np.array([d for d, _ in table], dtype=np.int64)
    cum = np.array([c for _, c in table], dtype=np.float64)
    bucket = rng.categorical(s.RETURN_BUCKET, key, np.diff(np.concatenate([[0.0], cum])), event)
    low = np.concatenate([[1], max_days[:-1] + 1])[bucket]
    return rng.integers(s.RETURN_DELAY, key, low, max_days[bucket], index=event)


def _reason_and_lines(
    lex: Lexicon, rng: Rng, key: np.ndarray, event: int, available: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform reason; all available lines with the reason's full-return probability, else 1..n."""
    reason = rng.integers(s.RETURN_REASON, key, 0, len(lex.reasons) - 1, index=event)
    full = rng.bernoulli(s.RETURN_FULL, key, lex.reason_full_prob[reason], index=event)
    some = rng.integers(s.RETURN_LINE_COUNT, key, 1, np.maximum(available, 1), index=event)
    return reason, np.where(full, available, some)
