"""Names, emails, phones and addresses as a pure function of a contact key.

A registered customer's contact key is its customer index; a guest either has its own or, with
`guest_contact_reuse_prob`, one of `guest_contact_pool_size` recurring contacts, so some guest
emails and addresses repeat on purpose, as they did in the older tool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.plan.world import WorldPlan
from ecomlake.render import people
from ecomlake.render.columns import labels
from ecomlake.rng import Rng
from ecomlake.rng import streams as s

POOL_KEY_BASE = 1 << 45  # contact keys of the recurring guest pool, apart from customer indices


@dataclass
class Contacts:
    first_name: pa.Array
    last_name: pa.Array
    email: pa.Array
    phone_number: pa.Array
    address: pa.Array


def contact_keys(world: WorldPlan, customer: np.ndarray) -> np.ndarray:
    """The contact key of each customer (guests may share a recurring pool contact)."""
    p = world.config.parameters
    rng = world.rng
    customer = np.asarray(customer, dtype=np.int64)
    guest = world.customers.is_guest(customer)
    reuse = guest & rng.bernoulli(s.GUEST_CONTACT_REUSE, customer, p.guest_contact_reuse_prob)
    pool = rng.integers(s.GUEST_CONTACT_PICK, customer, 0, max(p.guest_contact_pool_size, 1) - 1)
    return np.where(reuse, POOL_KEY_BASE + pool, customer)


def draw_contacts(rng: Rng, keys: np.ndarray) -> Contacts:
    """Every contact field for each key."""
    first = labels(people.FIRST_NAMES, _pick(rng, s.CUSTOMER_FIRST_NAME, keys, people.FIRST_NAMES))
    last = labels(people.LAST_NAMES, _pick(rng, s.CUSTOMER_LAST_NAME, keys, people.LAST_NAMES))
    domain = labels(
        people.EMAIL_DOMAINS, _pick(rng, s.CUSTOMER_EMAIL_DOMAIN, keys, people.EMAIL_DOMAINS)
    )
    email = pc.utf8_lower(pc.binary_join_element_wise(first, ".", last, "@", domain, ""))
    return Contacts(first, last, email, _phones(rng, keys), _addresses(rng, keys))


def _pick(rng: Rng, stream: str, keys: np.ndarray, vocabulary) -> np.ndarray:
    return rng.integers(stream, keys, 0, len(vocabulary) - 1)


def _digits(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(values, pa.int64()), pa.string()), width, "0")


def _phones(rng: Rng, keys: np.ndarray) -> pa.Array:
    shape = _pick(rng, s.CUSTOMER_PHONE_FORMAT, keys, people.PHONE_SHAPES)
    area = rng.integers(s.CUSTOMER_PHONE, keys, 201, 989, index=0)
    exchange = rng.integers(s.CUSTOMER_PHONE, keys, 200, 999, index=1)
    line = rng.integers(s.CUSTOMER_PHONE, keys, 0, 9999, index=2)
    ext = rng.integers(s.CUSTOMER_PHONE, keys, 100, 9999, index=3)
    shapes = people.PHONE_SHAPES
    prefix = labels([sh[0] for sh in shapes], shape)
    sep1 = labels([sh[1] for sh in shapes], shape)
    sep2 = labels([sh[2] for sh in shapes], shape)
    has_ext = np.array([sh[3] for sh in shapes])[shape]
    extension = pc.if_else(
        pa.array(has_ext), pc.binary_join_element_wise("x", _digits(ext, 3), ""), ""
    )
    return pc.binary_join_element_wise(
        prefix, _digits(area, 3), sep1, _digits(exchange, 3), sep2, _digits(line, 4), extension, ""
    )


def _addresses(rng: Rng, keys: np.ndarray) -> pa.Array:
    number = rng.integers(s.CUSTOMER_STREET_NUMBER, keys, 1, 9999)
    street = labels(people.STREETS, _pick(rng, s.CUSTOMER_STREET, keys, people.STREETS))
    suffix_idx = rng.integers(s.CUSTOMER_STREET, keys, 0, len(people.STREET_SUFFIXES) - 1, index=1)
    suffix = labels(people.STREET_SUFFIXES, suffix_idx)
    unit_idx = rng.integers(s.CUSTOMER_STREET, keys, 0, len(people.UNITS) - 1, index=2)
    unit_no = pc.cast(pa.array(rng.integers(s.CUSTOMER_STREET, keys, 1, 999, index=3)), pa.string())
    has_unit = pa.array(unit_idx >= 4)
    unit = pc.if_else(
        has_unit,
        pc.binary_join_element_wise(" ", labels(people.UNITS, unit_idx), unit_no, ""),
        "",
    )
    city_idx = _pick(rng, s.CUSTOMER_CITY, keys, people.CITIES)
    city = labels([c for c, _ in people.CITIES], city_idx)
    state = labels([st for _, st in people.CITIES], city_idx)
    zip_code = _digits(rng.integers(s.CUSTOMER_ZIP, keys, 1001, 99950), 5)
    return pc.binary_join_element_wise(
        pc.cast(pa.array(number, pa.int64()), pa.string()),
        " ",
        street,
        " ",
        suffix,
        unit,
        ", ",
        city,
        ", ",
        state,
        " ",
        zip_code,
        "",
    )
