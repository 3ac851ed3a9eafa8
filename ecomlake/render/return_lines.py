"""The lines each return takes: the order's merged lines ranked by a keyed priority; a return
takes `n_lines` of them after the `skip_lines` taken by the order's earlier return.

Refunds take the line discount off pro rata, so a refund never exceeds what was paid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.plan.world import WorldPlan
from ecomlake.render.lines import order_lines
from ecomlake.rng import streams as s


@dataclass
class ReturnedLines:
    """One row per returned line, grouped by return in the order of the given positions."""

    ret: np.ndarray  # index into the given return positions
    line_no: np.ndarray  # 0-based within the return
    product: np.ndarray
    quantity_returned: np.ndarray
    price_cents: np.ndarray
    refund_cents: np.ndarray


def returned_lines(world: WorldPlan, returns: np.ndarray) -> ReturnedLines:
    """Lines, quantities and refunds of the given return positions."""
    plan = world.returns
    orders, inverse = np.unique(plan.order[returns], return_inverse=True)
    merged = order_lines(world, orders)
    order_key = world.carts.key[world.orders.cart[orders]]
    line_key = order_key[merged.cart]
    priority = world.rng.priority(s.RETURN_LINE_PRIORITY, line_key, index=merged.product)
    ranked = np.lexsort((priority, merged.cart))
    block_start = np.searchsorted(merged.cart[ranked], np.arange(len(orders)))

    n = plan.n_lines[returns]
    ret = np.repeat(np.arange(len(returns)), n)
    line_no = np.arange(n.sum(), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
    line = ranked[block_start[inverse[ret]] + plan.skip_lines[returns][ret] + line_no]

    qty = merged.quantity[line]
    reason = plan.reason[returns][ret]
    key = line_key[line]
    partial = (qty > 1) & world.rng.bernoulli(
        s.RETURN_PARTIAL, key, world.lexicon.reason_partial_prob[reason], index=merged.product[line]
    )
    some = world.rng.integers(
        s.RETURN_PARTIAL_QTY, key, 1, np.maximum(qty - 1, 1), index=merged.product[line]
    )
    returned = np.where(partial, some, qty)
    paid = merged.price_cents[line] * qty - merged.discount_cents[line]
    return ReturnedLines(
        ret=ret,
        line_no=line_no,
        product=merged.product[line],
        quantity_returned=returned,
        price_cents=merged.price_cents[line],
        refund_cents=np.rint(paid * returned / qty).astype(np.int64),
    )
