"""orders: one per cart converted today; gross = cart total, discounts from the order's lines,
tier and CLV bucket as earned at that moment (docs/data-model.md#orders).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ecomlake.plan.ids import customer_ids, order_ids, sequence
from ecomlake.render import schemas
from ecomlake.render.columns import booleans, integers, labels, money, table, timestamps
from ecomlake.render.contacts import contact_keys, draw_contacts
from ecomlake.render.context import DayContext
from ecomlake.render.order_facts import agent_labels, draw_order_facts


def render(ctx: DayContext) -> pa.Table:
    world, pos = ctx.world, ctx.order_positions
    lex, p = world.lexicon, world.config.parameters
    cart = world.orders.cart[pos]
    customer = world.carts.customer[cart]
    facts = draw_order_facts(world, pos)
    lines = ctx.order_lines
    gross = np.bincount(lines.cart, weights=lines.amount_cents, minlength=len(pos))
    discount = np.bincount(lines.cart, weights=lines.discount_cents, minlength=len(pos))
    gross, discount = np.rint(gross).astype(np.int64), np.rint(discount).astype(np.int64)
    net = gross - discount
    fee_rates = np.array([p.financials.payment_fee_rates.get(m, 0.0) for m in lex.payment_methods])
    contacts = draw_contacts(ctx.rng, contact_keys(world, customer))
    shipping = np.array([round(p.shipping_costs[v] * 100) for v in lex.speeds])
    return table(
        schemas.ORDERS,
        {
            "order_id": order_ids(sequence(world.orders, pos)),
            "total_items": integers(np.bincount(lines.cart, minlength=len(pos))),
            "order_date": timestamps(world.carts.ts_us[cart]),
            "customer_id": customer_ids(
                customer, world.customers.n_registered, p.customer_id_start
            ),
            "email": contacts.email,
            "order_channel": labels(lex.order_channels, facts.channel),
            "is_expedited": booleans(facts.is_expedited),
            "customer_tier": labels(lex.earned_tiers.names, world.orders.earned_tier[pos]),
            "gross_total": money(gross),
            "net_total": money(net),
            "total_discount_amount": money(discount),
            "payment_method": labels(lex.payment_methods, facts.payment),
            "shipping_speed": labels(lex.speeds, facts.speed),
            "shipping_cost": money(shipping[facts.speed]),
            "agent_id": labels(agent_labels(world), facts.agent),
            "actual_shipping_cost": money(facts.actual_shipping_cents),
            "payment_processing_fee": money(np.rint(net * fee_rates[facts.payment])),
            "shipping_address": contacts.address,
            "billing_address": contacts.address,
            "clv_bucket": labels(lex.clv_buckets.names, world.orders.earned_clv[pos]),
            "is_reactivated": booleans(world.carts.is_reactivation[cart]),
        },
    )
