"""Contact strings: each field equals its row-by-row format over the same keyed draws."""

from __future__ import annotations

import numpy as np
import pytest

from ecomlake.render import people
from ecomlake.render.contacts import POOL_KEY_BASE, draw_contacts
from ecomlake.rng import Rng
from ecomlake.rng import streams as s

FIELDS = ("first_name", "last_name", "email", "phone_number", "address")
KEYS = np.concatenate([np.arange(4000), POOL_KEY_BASE + np.arange(50), [2**40 + 7]])


def _ints(rng: Rng, stream: str, low: int, high: int, index: int = 0) -> list[int]:
    return rng.integers(stream, KEYS, low, high, index=index).tolist()


def _pick(rng: Rng, stream: str, vocabulary) -> list[int]:
    return _ints(rng, stream, 0, len(vocabulary) - 1)


def _reference(rng: Rng) -> dict[str, list[str]]:
    """The documented formats, one Python f-string per row (the oracle)."""
    first = [people.FIRST_NAMES[i] for i in _pick(rng, s.CUSTOMER_FIRST_NAME, people.FIRST_NAMES)]
    last = [people.LAST_NAMES[i] for i in _pick(rng, s.CUSTOMER_LAST_NAME, people.LAST_NAMES)]
    domain = [
        people.EMAIL_DOMAINS[i] for i in _pick(rng, s.CUSTOMER_EMAIL_DOMAIN, people.EMAIL_DOMAINS)
    ]
    shapes = [
        people.PHONE_SHAPES[i] for i in _pick(rng, s.CUSTOMER_PHONE_FORMAT, people.PHONE_SHAPES)
    ]
    phone = zip(
        shapes,
        _ints(rng, s.CUSTOMER_PHONE, 201, 989, 0),
        _ints(rng, s.CUSTOMER_PHONE, 200, 999, 1),
        _ints(rng, s.CUSTOMER_PHONE, 0, 9999, 2),
        _ints(rng, s.CUSTOMER_PHONE, 100, 9999, 3),
        strict=True,
    )
    suffixes, units = people.STREET_SUFFIXES, people.UNITS
    address = zip(
        _ints(rng, s.CUSTOMER_STREET_NUMBER, 1, 9999),
        _pick(rng, s.CUSTOMER_STREET, people.STREETS),
        _ints(rng, s.CUSTOMER_STREET, 0, len(suffixes) - 1, 1),
        _ints(rng, s.CUSTOMER_STREET, 0, len(units) - 1, 2),
        _ints(rng, s.CUSTOMER_STREET, 1, 999, 3),
        _pick(rng, s.CUSTOMER_CITY, people.CITIES),
        _ints(rng, s.CUSTOMER_ZIP, 1001, 99950),
        strict=True,
    )
    return {
        "first_name": first,
        "last_name": last,
        "email": [f"{f}.{la}@{d}".lower() for f, la, d in zip(first, last, domain, strict=True)],
        "phone_number": [
            f"{sh[0]}{a:03d}{sh[1]}{e:03d}{sh[2]}{li:04d}" + (f"x{x:03d}" if sh[3] else "")
            for sh, a, e, li, x in phone
        ],
        "address": [
            f"{n} {people.STREETS[st]} {suffixes[sf]}"
            + (f" {units[u]}{no}" if units[u] else "")
            + f", {people.CITIES[c][0]}, {people.CITIES[c][1]} {z:05d}"
            for n, st, sf, u, no, c, z in address
        ],
    }


@pytest.mark.parametrize("seed", [42, 7])
def test_fields_match_their_row_by_row_format(seed: int) -> None:
    rng = Rng(seed)
    contacts = draw_contacts(rng, KEYS)
    expected = _reference(rng)
    for name in FIELDS:
        assert getattr(contacts, name).to_pylist() == expected[name], name


def test_sample_covers_every_shape_and_unit() -> None:
    """The oracle test means something only if every phone shape and unit kind occurs."""
    phones = draw_contacts(Rng(42), KEYS).phone_number.to_pylist()
    addresses = draw_contacts(Rng(42), KEYS).address.to_pylist()
    assert any(p.startswith("(") for p in phones) and any(p.startswith("001-") for p in phones)
    assert any("x" in p for p in phones) and any("." in p for p in phones)
    assert any(" Apt. " in a for a in addresses) and any(" Suite " in a for a in addresses)


def test_a_field_does_not_depend_on_which_were_read_before() -> None:
    rng = Rng(3)
    alone = draw_contacts(rng, KEYS).email
    everything = draw_contacts(rng, KEYS)
    for name in FIELDS:
        getattr(everything, name)
    assert alone.equals(everything.email)


def test_no_keys_give_empty_columns() -> None:
    contacts = draw_contacts(Rng(1), np.zeros(0, np.int64))
    assert all(len(getattr(contacts, name)) == 0 for name in FIELDS)


def test_build_vocabularies_builds_every_vocabulary():
    """A worker warmed with it must not build one on its first day (run/executors.py)."""
    from ecomlake.render import contacts

    builders = [f for f in vars(contacts).values() if hasattr(f, "cache_clear")]
    assert len(builders) >= 10
    for build in builders:
        build.cache_clear()
    contacts.build_vocabularies()
    assert [b.__name__ for b in builders if b.cache_info().currsize == 0] == []
