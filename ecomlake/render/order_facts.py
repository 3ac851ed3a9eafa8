"""Order attributes drawn per order key, shared by orders and by the returns of that order:
channel, payment method (restricted by `channel_rules`), shipping speed and costs, agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.plan.world import WorldPlan
from ecomlake.rng import cumulative
from ecomlake.rng import streams as s

ONLINE_AGENT = "ONLINE"
PHONE_CHANNEL = "phone"  # compared case-insensitively, as the QA rule of the older tool did


@dataclass
class OrderFacts:
    """Per-order indices into the lexicon plus drawn amounts in cents."""

    key: np.ndarray
    channel: np.ndarray  # into lexicon.order_channels
    payment: np.ndarray  # into lexicon.payment_methods
    speed: np.ndarray  # into lexicon.speeds
    agent: np.ndarray  # into agent_labels(): agents then ONLINE
    actual_shipping_cents: np.ndarray
    is_expedited: np.ndarray


def agent_labels(world: WorldPlan) -> tuple[str, ...]:
    return (*world.lexicon.agents, ONLINE_AGENT)


def payment_cdf(world: WorldPlan) -> np.ndarray:
    """Per order channel: the global payment mix restricted to the channel's allowed methods."""
    lex, rules = world.lexicon, world.config.channel_rules
    rows = []
    for channel in lex.order_channels:
        rule = rules.get(channel)
        allowed = rule.allowed_payment_methods if rule and rule.allowed_payment_methods else None
        mask = np.array([allowed is None or m in allowed for m in lex.payment_methods])
        weights = np.array(lex.payment_weights) * mask
        rows.append(cumulative(weights if weights.sum() > 0 else mask.astype(float)))
    return np.array(rows)


def draw_order_facts(world: WorldPlan, orders: np.ndarray) -> OrderFacts:
    """Attributes of the given order positions, keyed by their cart key."""
    rng, lex, p = world.rng, world.lexicon, world.config.parameters
    key = world.carts.key[world.orders.cart[orders]]
    channel = rng.categorical(s.ORDER_CHANNEL, key, lex.order_channel_weights)
    payment = rng.categorical_rows(s.ORDER_PAYMENT, key, payment_cdf(world), channel)
    speed = rng.categorical(s.ORDER_SPEED, key, lex.speed_weights)
    base = np.array([p.financials.shipping_business_costs.base_costs[v] for v in lex.speeds])
    lo, hi = p.financials.shipping_business_costs.cost_variance_pct
    variance = rng.uniform(s.ORDER_SHIPPING_VARIANCE, key, lo, hi)
    actual = np.rint(base[speed] * 100 * (1.0 + variance)).astype(np.int64)
    is_phone = np.array([c.lower() == PHONE_CHANNEL for c in lex.order_channels])[channel]
    csr = rng.integers(s.ORDER_AGENT, key, 0, max(len(lex.agents), 1) - 1)
    agent = np.where(is_phone & (len(lex.agents) > 0), csr, len(lex.agents))
    expedited = rng.bernoulli(s.ORDER_EXPEDITED, key, p.expedited_pct / 100.0)
    return OrderFacts(key, channel, payment, speed, agent, actual, expedited)
