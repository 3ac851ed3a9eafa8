"""returns: return events dated today (scheduled by the plan from earlier orders). Channel
follows `channel_rules.<order channel>.return_channel_preference`, else the order's channel;
agent and refund method come from the order (docs/data-model.md#returns).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ecomlake.plan.ids import customer_ids, order_ids, return_ids, sequence
from ecomlake.render import schemas
from ecomlake.render.columns import constant, dates, labels, money, table
from ecomlake.render.contacts import contact_keys, draw_contacts
from ecomlake.render.context import DayContext
from ecomlake.render.order_facts import PHONE_CHANNEL, agent_labels, draw_order_facts
from ecomlake.rng import streams as s

RETURN_TYPE = "Refund"


def render(ctx: DayContext) -> pa.Table:
    world, pos = ctx.world, ctx.return_positions
    lex, plan = world.lexicon, world.returns
    order = plan.order[pos]
    customer = world.carts.customer[world.orders.cart[order]]
    facts = draw_order_facts(world, order)
    channel = _return_channel(ctx, facts.channel)
    agents = agent_labels(world)
    is_phone = np.array([c.lower() == PHONE_CHANNEL for c in lex.return_channels])[channel]
    csr = ctx.rng.integers(s.RETURN_AGENT, facts.key, 0, max(len(lex.agents), 1) - 1)
    same = channel == facts.channel  # order channels come first in return_channels
    online = len(agents) - 1
    agent = np.where(same, facts.agent, np.where(is_phone & (online > 0), csr, online))
    refund = np.bincount(ctx.returned.ret, weights=ctx.returned.refund_cents, minlength=len(pos))
    contacts = draw_contacts(ctx.rng, contact_keys(world, customer))
    return table(
        schemas.RETURNS,
        {
            "return_id": return_ids(sequence(plan, pos)),
            "order_id": order_ids(sequence(world.orders, order)),
            "customer_id": customer_ids(
                customer, world.customers.n_registered, world.config.parameters.customer_id_start
            ),
            "email": contacts.email,
            "return_date": dates(plan.day[pos]),
            "reason": labels(lex.reasons, plan.reason[pos]),
            "return_type": constant(RETURN_TYPE, len(pos)),
            "refunded_amount": money(np.rint(refund)),
            "return_channel": labels(lex.return_channels, channel),
            "agent_id": labels(agents, agent),
            "refund_method": labels(lex.payment_methods, facts.payment),
        },
    )


def _return_channel(ctx: DayContext, order_channel: np.ndarray) -> np.ndarray:
    """Index into lexicon.return_channels of each return's channel."""
    lex, rules = ctx.world.lexicon, ctx.world.config.channel_rules
    mapping = []
    for name in lex.order_channels:
        rule = rules.get(name)
        preferred = rule.return_channel_preference if rule else None
        mapping.append(
            lex.return_channels.index(preferred) if preferred else lex.return_channels.index(name)
        )
    return np.array(mapping, dtype=np.int64)[order_channel]
