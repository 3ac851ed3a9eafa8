"""Names, emails, phones and addresses as a pure function of a contact key.

A registered customer's contact key is its customer index; a guest either has its own or, with
`guest_contact_reuse_prob`, one of `guest_contact_pool_size` recurring contacts, so some guest
emails and addresses repeat on purpose, as they did in the older tool.

Each field is drawn only when a table asks for it (returns need the email alone), and a string
is a few pieces picked from vocabularies of whole pieces ("Oak Lane", "(555", ", Salem, MA ")
and joined once per row (`columns.joined`, one pass in C): far cheaper than casting, padding and
joining a dozen small parts, both per row (a million-customer backlog) and per call (a small
world's many tiny days).
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.plan.world import WorldPlan
from ecomlake.render import people
from ecomlake.render.columns import joined
from ecomlake.rng import Rng
from ecomlake.rng import streams as s

POOL_KEY_BASE = 1 << 45  # contact keys of the recurring guest pool, apart from customer indices
# Inclusive ranges of the drawn numbers; each vocabulary below covers its range exactly.
AREA = (201, 989)
EXCHANGE = (200, 999)
LINE = (0, 9999)
EXTENSION = (100, 9999)
STREET_NUMBER = (1, 9999)
UNIT_NUMBER = (1, 999)
ZIP = (1001, 99950)


def contact_keys(world: WorldPlan, customer: np.ndarray) -> np.ndarray:
    """The contact key of each customer (guests may share a recurring pool contact)."""
    p = world.config.parameters
    rng = world.rng
    customer = np.asarray(customer, dtype=np.int64)
    guest = world.customers.is_guest(customer)
    reuse = guest & rng.bernoulli(s.GUEST_CONTACT_REUSE, customer, p.guest_contact_reuse_prob)
    pool = rng.integers(s.GUEST_CONTACT_PICK, customer, 0, max(p.guest_contact_pool_size, 1) - 1)
    return np.where(reuse, POOL_KEY_BASE + pool, customer)


class Contacts:
    """Every contact field of each key, each drawn on first use; the `anonymous` rows (guests)
    have null names and phone numbers, set as the strings are built rather than by a copy."""

    def __init__(self, rng: Rng, keys: np.ndarray, anonymous: np.ndarray | None = None) -> None:
        self._rng = rng
        self._keys = keys
        self._anonymous = anonymous

    def _draw(self, stream: str, low: int, high: int, index: int = 0) -> np.ndarray:
        return self._rng.integers(stream, self._keys, low, high, index=index)

    def _pick(self, stream: str, vocabulary) -> np.ndarray:
        return self._draw(stream, 0, len(vocabulary) - 1)

    @functools.cached_property
    def _first(self) -> np.ndarray:
        return self._pick(s.CUSTOMER_FIRST_NAME, people.FIRST_NAMES)

    @functools.cached_property
    def _last(self) -> np.ndarray:
        return self._pick(s.CUSTOMER_LAST_NAME, people.LAST_NAMES)

    @functools.cached_property
    def first_name(self) -> pa.Array:
        return joined([(_first_names(), self._first)], self._anonymous)

    @functools.cached_property
    def last_name(self) -> pa.Array:
        return joined([(_last_names(), self._last)], self._anonymous)

    @functools.cached_property
    def email(self) -> pa.Array:
        """`first.last@domain`, lower case."""
        domain = self._pick(s.CUSTOMER_EMAIL_DOMAIN, people.EMAIL_DOMAINS)
        combined = self._first * len(people.LAST_NAMES) + self._last
        return joined([(_emails(), combined * len(people.EMAIL_DOMAINS) + domain)])

    @functools.cached_property
    def phone_number(self) -> pa.Array:
        """`<prefix>AAA<sep>EEE<sep>LLLL[xNNN]`, the separators and extension by shape."""
        shape = self._pick(s.CUSTOMER_PHONE_FORMAT, people.PHONE_SHAPES)
        area = self._draw(s.CUSTOMER_PHONE, *AREA, index=0)
        exchange = self._draw(s.CUSTOMER_PHONE, *EXCHANGE, index=1)
        line = self._draw(s.CUSTOMER_PHONE, *LINE, index=2)
        ext = self._draw(s.CUSTOMER_PHONE, *EXTENSION, index=3)
        has_ext = np.array([sh[3] for sh in people.PHONE_SHAPES])[shape]
        return joined(
            [
                (_phone_heads(), shape * _span(AREA) + area - AREA[0]),
                (_phone_middles(), shape * _span(EXCHANGE) + exchange - EXCHANGE[0]),
                (_padded(*LINE, 4), line - LINE[0]),
                (_extensions(), np.where(has_ext, ext - EXTENSION[0] + 1, 0)),
            ],
            self._anonymous,
        )

    @functools.cached_property
    def address(self) -> pa.Array:
        """`<number> <street> <suffix>[ <unit><n>], <city>, <state> <zip>`."""
        number = self._draw(s.CUSTOMER_STREET_NUMBER, *STREET_NUMBER)
        street = self._pick(s.CUSTOMER_STREET, people.STREETS)
        suffix = self._draw(s.CUSTOMER_STREET, 0, len(people.STREET_SUFFIXES) - 1, index=1)
        unit = self._draw(s.CUSTOMER_STREET, 0, len(people.UNITS) - 1, index=2)
        unit_no = self._draw(s.CUSTOMER_STREET, *UNIT_NUMBER, index=3)
        city = self._pick(s.CUSTOMER_CITY, people.CITIES)
        zip_code = self._draw(s.CUSTOMER_ZIP, *ZIP)
        return joined(
            [
                (_street_numbers(), number - STREET_NUMBER[0]),
                (_streets(), street * len(people.STREET_SUFFIXES) + suffix),
                (_units(), _unit_slots()[unit] * _span(UNIT_NUMBER) + unit_no - UNIT_NUMBER[0]),
                (_cities(), city),
                (_padded(*ZIP, 5), zip_code - ZIP[0]),
            ]
        )


def draw_contacts(rng: Rng, keys: np.ndarray, anonymous: np.ndarray | None = None) -> Contacts:
    """The contact fields of each key (drawn as they are read); `anonymous` (one bool per key)
    nulls the names and phone numbers of those rows."""
    return Contacts(rng, np.asarray(keys, dtype=np.int64), anonymous)


def build_vocabularies() -> None:
    """Build every vocabulary now (about 0.2 s, and pyarrow's first array imports pandas), so
    that a new worker pays it while the driver plans rather than on its first day."""
    contacts = Contacts(Rng(0), np.zeros(1, np.int64))
    for field in ("first_name", "last_name", "email", "phone_number", "address"):
        getattr(contacts, field)


def _span(bounds: tuple[int, int]) -> int:
    return bounds[1] - bounds[0] + 1


def _numbers(low: int, high: int, width: int) -> list[str]:
    """Decimal text of low..high, zero-padded to `width` digits."""
    return [f"{v:0{width}d}" for v in range(low, high + 1)]


def _strings(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


# Vocabularies of whole pieces, built once per process (the largest, emails, holds 210k short
# strings). Their order is the index arithmetic of `Contacts`.


@functools.cache
def _first_names() -> pa.Array:
    return _strings(people.FIRST_NAMES)


@functools.cache
def _last_names() -> pa.Array:
    return _strings(people.LAST_NAMES)


@functools.cache
def _emails() -> pa.Array:
    """Every first.last@domain, lower-cased by the same kernel a row-wise join would use."""
    n_last, n_domain = len(people.LAST_NAMES), len(people.EMAIL_DOMAINS)
    index = np.arange(len(people.FIRST_NAMES) * n_last * n_domain)
    first = joined([(_first_names(), index // (n_last * n_domain))])
    last = joined([(_last_names(), index // n_domain % n_last)])
    domain = joined([(_strings(people.EMAIL_DOMAINS), index % n_domain)])
    return pc.utf8_lower(pc.binary_join_element_wise(first, ".", last, "@", domain, ""))


@functools.cache
def _phone_heads() -> pa.Array:
    """Shape-major: the shape's prefix and the 3-digit area code."""
    return _strings([sh[0] + a for sh in people.PHONE_SHAPES for a in _numbers(*AREA, 3)])


@functools.cache
def _phone_middles() -> pa.Array:
    """Shape-major: the shape's first separator, the 3-digit exchange, its second separator."""
    return _strings(
        [sh[1] + e + sh[2] for sh in people.PHONE_SHAPES for e in _numbers(*EXCHANGE, 3)]
    )


@functools.cache
def _extensions() -> pa.Array:
    """Slot 0 is no extension; then `x` and the extension, at least 3 digits."""
    return _strings(["", *("x" + e for e in _numbers(*EXTENSION, 3))])


@functools.cache
def _padded(low: int, high: int, width: int) -> pa.Array:
    """`_numbers` as one Arrow array, built by kernels: the zip codes are 99k strings, and
    formatting them one by one in Python cost every new worker 0.1 s."""
    digits = pc.cast(pa.array(np.arange(low, high + 1, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(digits, width=width, padding="0")


@functools.cache
def _street_numbers() -> pa.Array:
    return _strings([n + " " for n in _numbers(*STREET_NUMBER, 1)])


@functools.cache
def _streets() -> pa.Array:
    """Street-major: `<street> <suffix>`."""
    return _strings([f"{st} {sf}" for st in people.STREETS for sf in people.STREET_SUFFIXES])


@functools.cache
def _unit_names() -> tuple[str, ...]:
    """The units that print (the empty ones weight the draw toward no unit), once each."""
    return tuple(dict.fromkeys(u for u in people.UNITS if u))


@functools.cache
def _unit_slots() -> np.ndarray:
    """Block of `_units` for each entry of UNITS: 0 for none, k for the k-th printing unit."""
    names = _unit_names()
    return np.array([names.index(u) + 1 if u else 0 for u in people.UNITS], np.int64)


@functools.cache
def _units() -> pa.Array:
    """Block 0 (no unit) is empty; block k holds ` <unit k><n>` for every unit number."""
    numbers = _numbers(*UNIT_NUMBER, 1)
    empty = [""] * len(numbers)
    return _strings(empty + [f" {u}{n}" for u in _unit_names() for n in numbers])


@functools.cache
def _cities() -> pa.Array:
    return _strings([f", {city}, {state} " for city, state in people.CITIES])
