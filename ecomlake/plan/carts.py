"""Carts in time order: id sequence, line counts, first item id, and the conversion funnel.

Conversion uses `conversion_rate × first_purchase_conversion_boost[signup channel]` until the
customer's first converted cart anywhere in the world, then the plain rate; every other cart is
emptied with `abandoned_cart_emptied_prob`, else abandoned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.plan.customers import CustomerPlan
from ecomlake.plan.lexicon import NONE, Lexicon
from ecomlake.plan.lines import LineModel, draw_line_counts
from ecomlake.plan.sorting import coarse_argsort
from ecomlake.plan.visits import VisitPlan, key_customer, key_is_reactivation
from ecomlake.rng import Rng
from ecomlake.rng import streams as s

STATUSES = ("converted", "abandoned", "emptied")
CONVERTED, ABANDONED, EMPTIED = 0, 1, 2


@dataclass
class CartPlan:
    """Per-cart arrays sorted by (created timestamp, key); cart seq = position + 1."""

    key: np.ndarray  # int64 keyed-randomness id
    customer: np.ndarray  # int64
    ts_us: np.ndarray  # int64 created_at
    is_reactivation: np.ndarray  # bool
    n_lines: np.ndarray  # int64 lines drawn (emptied carts lose them)
    first_item_id: np.ndarray  # int64 cart_item_id of line 0
    status: np.ndarray  # int8 into STATUSES
    seq: np.ndarray | None = None  # set in a day's slice of a blocked world (plan/ids.py)

    @property
    def size(self) -> int:
        return len(self.key)


def build_carts(
    cfg: EcomConfig,
    lex: Lexicon,
    rng: Rng,
    cust: CustomerPlan,
    visits: VisitPlan,
    model: LineModel,
) -> CartPlan:
    """Sort visits into carts and run the conversion funnel per customer over the world."""
    key = visits.key
    order = time_order(visits.ts_us, key)
    key, ts = key[order], visits.ts_us[order]  # the rest follows from the key: fewer gathers
    customer = key_customer(key)
    n_lines = draw_line_counts(model, rng, key, cust.tier[cust.local(customer)])
    first_item = np.cumsum(n_lines) - n_lines + 1
    converted = _convert(cfg, lex, rng, cust, key, customer, ts)
    emptied = ~converted & rng.bernoulli(
        s.CART_EMPTIED, key, cfg.parameters.abandoned_cart_emptied_prob
    )
    # int8 choices keep np.where in int8: no int64 temporaries to cast down
    status = np.where(
        converted, np.int8(CONVERTED), np.where(emptied, np.int8(EMPTIED), np.int8(ABANDONED))
    )
    return CartPlan(
        key=key,
        customer=customer,
        ts_us=ts,
        is_reactivation=key_is_reactivation(key),
        n_lines=n_lines,
        first_item_id=first_item,
        status=status,
    )


def _convert(
    cfg: EcomConfig,
    lex: Lexicon,
    rng: Rng,
    cust: CustomerPlan,
    key: np.ndarray,
    customer: np.ndarray,
    ts: np.ndarray,
) -> np.ndarray:
    """Boosted rate until the first success per customer, plain rate after it."""
    p = cfg.parameters
    boost_by_channel = np.array(
        [p.first_purchase_conversion_boost.get(ch, 1.0) for ch in lex.signup_channels] + [1.0]
    )
    boosted_rate = np.minimum(p.conversion_rate * boost_by_channel, 1.0)  # per channel row
    at = cust.local(customer)
    channel = cust.channel[at]
    u = rng.uniform(s.CART_CONVERSION, key)
    boosted = u < boosted_rate[np.where(channel == NONE, len(lex.signup_channels), channel)]
    plain = u < p.conversion_rate

    # Carts are in time order, so a cart is before its customer's first boosted success
    # exactly when its position is at most that success's position. Only carts that one rate
    # or the other converts can convert: those alone look their customer's success up.
    hits = np.flatnonzero(boosted)
    first_hit = np.full(cust.size, len(key), dtype=np.int64)
    np.minimum.at(first_hit, at[hits], hits)
    maybe = np.flatnonzero(boosted | plain)
    converted = np.zeros(len(key), dtype=bool)
    converted[maybe] = np.where(maybe <= first_hit[at[maybe]], boosted[maybe], plain[maybe])
    return converted


def time_order(ts: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Positions in (timestamp, key) order: time order, and ties (rare in microseconds) by key,
    so that the order does not depend on how the carts were gathered (plan/blocks.py).

    The sort packs timestamps with positions (`coarse_argsort`): a world's microseconds are too
    wide to pack whole, so carts a few microseconds apart may share a coarse timestamp, and
    those runs (rare, as are equal timestamps) are put in (timestamp, key) order afterwards.
    Keys are unique, so the order is exactly `np.argsort(ts)` with its ties sorted by key.
    """
    order, coarse = coarse_argsort(ts)
    tie = coarse[1:] == coarse[:-1]
    if not tie.any():
        return order
    # Every slot of a run of equal coarse timestamps; sorting their carts by (ts, key) refills
    # them, as coarse timestamps only merge neighbours in time.
    slots = np.flatnonzero(np.concatenate([tie, [False]]) | np.concatenate([[False], tie]))
    tied = order[slots]
    order[slots] = tied[np.lexsort((key[tied], ts[tied]))]
    return order
