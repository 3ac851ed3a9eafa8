"""customers: the customers whose signup_date falls on the partitions this task owns.

Registered customers carry their final earned tier and CLV bucket (as of the window end); guests
appear on the day of their first visit with null profile fields (docs/data-model.md#customers).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ecomlake.plan.ids import customer_ids
from ecomlake.render import schemas
from ecomlake.render.columns import booleans, dates, integers, labels, table
from ecomlake.render.contacts import contact_keys, draw_contacts
from ecomlake.render.context import DayContext
from ecomlake.rng import streams as s

GUEST_STATUS = "Guest"
UNKNOWN_GENDER = "Unknown"  # drawn with gender_unknown_prob, added if vocab.genders lacks it


def render(ctx: DayContext) -> pa.Table:
    world = ctx.world
    plan = world.customers
    parts = [world.customers_on(d) for d in ctx.signup_days]
    idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    idx = idx.astype(np.int64)  # customer numbers
    at = plan.local(idx)
    cfg, lex, rng = world.config, world.lexicon, ctx.rng
    lookup = cfg.lookup_config.customers
    p = cfg.parameters
    guest = plan.is_guest(idx)
    contacts = draw_contacts(rng, contact_keys(world, idx), anonymous=guest)

    genders = lex.genders if UNKNOWN_GENDER in lex.genders else (*lex.genders, UNKNOWN_GENDER)
    unknown = rng.bernoulli(s.CUSTOMER_GENDER_UNKNOWN, idx, lookup.gender_unknown_prob)
    gender = rng.integers(s.CUSTOMER_GENDER, idx, 0, len(lex.genders) - 1)
    gender = np.where(guest, -1, np.where(unknown, genders.index(UNKNOWN_GENDER), gender))
    age = rng.integers(s.CUSTOMER_AGE, idx, lookup.min_age, lookup.max_age)
    status = rng.categorical(s.CUSTOMER_STATUS, idx, lex.status_weights)
    statuses = [*lex.statuses, GUEST_STATUS]
    verified = rng.bernoulli(s.CUSTOMER_EMAIL_VERIFIED, idx, p.email_verified_prob) & ~guest
    opt_in = rng.bernoulli(s.CUSTOMER_MARKETING, idx, p.marketing_opt_in_prob) & ~guest

    return table(
        schemas.CUSTOMERS,
        {
            "customer_id": customer_ids(idx, plan.n_registered, p.customer_id_start),
            "first_name": contacts.first_name,
            "last_name": contacts.last_name,
            "email": contacts.email,
            "phone_number": contacts.phone_number,
            "signup_date": dates(plan.signup_day[at]),
            "gender": labels(genders, gender),
            "age": integers(age, mask=guest),
            "is_guest": booleans(guest),
            "customer_status": labels(statuses, np.where(guest, len(lex.statuses), status)),
            "signup_channel": labels(lex.signup_channels, plan.channel[at]),
            "loyalty_tier": labels(lex.earned_tiers.names, plan.final_tier[at]),
            "initial_loyalty_tier": labels(lex.tiers, plan.tier[at]),
            "email_verified": booleans(verified),
            "marketing_opt_in": booleans(opt_in),
            "mailing_address": contacts.address,
            "billing_address": contacts.address,
            "loyalty_enrollment_date": dates(plan.enrollment_day[at]),
            "clv_bucket": labels(lex.clv_buckets.names, plan.final_clv[at]),
        },
    )
