"""Identifier shapes: CART-/ORD-/RTN- + zero-padded sequence, CUST-/GUEST- for customers.

Sequences are positions in the plan's time-ordered arrays, so ids are unique over the world and
the same in every run, with no state file. The strings are written by the C extension
ecomlake._kernels when it is built, else by pyarrow's cast, lpad and join (the same bytes).
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:
    import ecomlake._kernels as _kernels
except ImportError:  # built without a C compiler: the same strings, via pyarrow
    _kernels = None
    logging.getLogger(__name__).debug("ecomlake._kernels is not built; ids are joined by pyarrow")

SEQUENCE_WIDTH = 8
GUEST_BASE = 100_000
CART_PREFIX, ORDER_PREFIX, RETURN_PREFIX = "CART-", "ORD-", "RTN-"


def prefixed(prefix: str, numbers: np.ndarray, width: int = SEQUENCE_WIDTH) -> pa.Array:
    """`<prefix><number zero-padded to width>` for each number."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if _kernels is not None:
        return _kernel_ids(numbers, (prefix,), None, width)
    return pc.binary_join_element_wise(prefix, _padded(numbers, width), "")


def _padded(numbers: np.ndarray, width: int) -> pa.Array:
    """The numbers as text left-padded with '0' to width (never cut: wider numbers stay whole)."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")


def _kernel_ids(
    numbers: np.ndarray, prefixes: tuple[str, ...], choice: np.ndarray | None, width: int
) -> pa.Array:
    """`prefixes[choice]` + padded number per row, as `_padded` and a join make them, written
    in C straight into the string array's buffers (`choice` None: the first prefix)."""
    offsets, data = _kernels.format_ids(
        np.asarray(numbers, order="C"), tuple(p.encode() for p in prefixes), choice, width
    )
    return pa.StringArray.from_buffers(len(numbers), pa.py_buffer(offsets), pa.py_buffer(data))


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
    if _kernels is not None:
        return _kernel_ids(number, ("CUST-", "GUEST-"), guest, 4)
    prefix = pc.if_else(pa.array(guest), "GUEST-", "CUST-")
    return pc.binary_join_element_wise(prefix, _padded(number, 4), "")
