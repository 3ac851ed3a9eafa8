"""The visit plan's helpers (plan/visits.py) against the plain numpy they stand for."""

from __future__ import annotations

import numpy as np

from ecomlake.plan.visits import (
    COPY_SLOT_BASE,
    REACTIVATION_SLOT,
    VisitPlan,
    key_customer,
    key_is_reactivation,
)


def test_keys_give_back_customer_and_reactivation():
    customer = np.array([0, 1, 7, 999_999, 2**40], dtype=np.int64)
    slot = np.array([0, REACTIVATION_SLOT, COPY_SLOT_BASE, 4000, REACTIVATION_SLOT], np.int64)
    key = VisitPlan(customer, slot, np.zeros(len(slot), np.int64)).key
    assert np.array_equal(key_customer(key), customer)
    assert np.array_equal(key_is_reactivation(key), slot == REACTIVATION_SLOT)
    empty = np.zeros(0, np.int64)
    assert key_customer(empty).shape == key_is_reactivation(empty).shape == (0,)
