"""Identifier shapes: CART-/ORD-/RTN- + zero-padded sequence, CUST-/GUEST- for customers.

Sequences are positions in the plan's time-ordered arrays, so ids are unique over the world and
the same in every run, with no state file.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEQUENCE_WIDTH = 8
GUEST_BASE = 100_000
CART_PREFIX, ORDER_PREFIX, RETURN_PREFIX = "CART-", "ORD-", "RTN-"


def prefixed(prefix: str, numbers: np.ndarray, width: int = SEQUENCE_WIDTH) -> pa.Array:
    """`<prefix><number zero-padded to width>` for each number."""
    digits = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


class Numbered(Protocol):
    seq: np.ndarray | None


def sequence(plan: Numbered, positions: np.ndarray) -> np.ndarray:
    """The sequence numbers of plan positions: position + 1 in the whole world's time-ordered
    plan, the stored numbers in one day's slice of a world planned in blocks."""
    return positions + 1 if plan.seq is None else plan.seq[positions]


def cart_ids(seq: np.ndarray) -> pa.Array:
    return prefixed(CART_PREFIX, seq)


def order_ids(seq: np.ndarray) -> pa.Array:
    return prefixed(ORDER_PREFIX, seq)


def return_ids(seq: np.ndarray) -> pa.Array:
    return prefixed(RETURN_PREFIX, seq)


def customer_ids(customer: np.ndarray, n_registered: int, id_start: int) -> pa.Array:
    """CUST-<id_start + i> for registered customers, GUEST-<100000 + j> for the j-th guest."""
    customer = np.asarray(customer, dtype=np.int64)
    guest = customer >= n_registered
    number = np.where(guest, GUEST_BASE + customer - n_registered, id_start + customer)
    digits = pc.utf8_lpad(pc.cast(pa.array(number), pa.string()), 4, "0")
    prefix = pc.if_else(pa.array(guest), "GUEST-", "CUST-")
    return pc.binary_join_element_wise(prefix, digits, "")
