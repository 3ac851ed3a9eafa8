"""Orders: one per converted cart, in time order, with the gross total and the tier and CLV
bucket the customer has earned at that moment (running gross spend over the whole world).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.plan.carts import CONVERTED, CartPlan
from ecomlake.plan.catalog import CatalogPlan
from ecomlake.plan.customers import CustomerPlan
from ecomlake.plan.lexicon import NONE, Lexicon
from ecomlake.plan.lines import LineModel, cart_totals, distinct_products, draw_items
from ecomlake.plan.sorting import stable_argsort
from ecomlake.rng import Rng


@dataclass
class OrderPlan:
    """Per-order arrays in time order; order seq = position + 1."""

    cart: np.ndarray  # position in CartPlan
    gross_cents: np.ndarray  # int64 = cart total
    n_products: np.ndarray  # int64 distinct products = order_items rows
    earned_tier: np.ndarray  # int8 into lexicon.earned_tiers.names
    earned_clv: np.ndarray  # int8 into lexicon.clv_buckets.names
    seq: np.ndarray | None = None  # set in a day's slice of a blocked world (plan/ids.py)

    @property
    def size(self) -> int:
        return len(self.cart)


def build_orders(
    lex: Lexicon,
    rng: Rng,
    cust: CustomerPlan,
    carts: CartPlan,
    model: LineModel,
    catalog: CatalogPlan,
) -> OrderPlan:
    """Totals of converted carts, earned status at order time, and customers' final status."""
    cart = np.flatnonzero(carts.status == CONVERTED)
    customer = carts.customer[cart]
    at = cust.local(customer)
    lines, _ = draw_items(
        model, catalog, rng, carts.key[cart], carts.n_lines[cart], cust.channel[at], cust.tier[at]
    )
    gross = cart_totals(lines, len(cart))
    n_products = distinct_products(lines, len(cart))

    running = _running_spend(customer, gross)
    spend = np.bincount(at, weights=gross, minlength=cust.size)
    registered = ~cust.is_guest(cust.numbers())
    cust.final_tier[:] = np.where(registered, lex.earned_tiers.earned(spend), NONE)
    cust.final_clv[:] = np.where(registered, lex.clv_buckets.earned(spend), NONE)
    return OrderPlan(
        cart=cart,
        gross_cents=gross,
        n_products=n_products,
        earned_tier=lex.earned_tiers.earned(running),
        earned_clv=lex.clv_buckets.earned(running),
    )


def _running_spend(customer: np.ndarray, gross: np.ndarray) -> np.ndarray:
    """Gross spend of each customer up to and including each order (orders are in time order)."""
    if len(customer) == 0:
        return gross
    by_customer = stable_argsort(customer)
    c = customer[by_customer]
    total = np.cumsum(gross[by_customer])
    group_start = np.flatnonzero(np.concatenate([[True], c[1:] != c[:-1]]))
    sizes = np.diff(np.append(group_start, len(c)))
    before = np.repeat(np.concatenate([[0], total])[group_start], sizes)
    running = np.empty_like(total)
    running[by_customer] = total - before
    return running
