"""Spend thresholds (plan/lexicon.py): the earned level is numpy's searchsorted formula."""

from __future__ import annotations

import numpy as np
import pytest

from ecomlake.plan.lexicon import Thresholds

SPENDS = np.array([-5, 0, 99, 100, 101, 9_999, 10_000, 10_001, 49_999, 50_000, 10**9])


@pytest.mark.parametrize(
    "mapping",
    [
        {"Bronze": 0, "Silver": 100, "Gold": 500, "Platinum": 1000},
        {"Low": 1.0, "High": 100.0},  # the lowest threshold above some spends
        {"Only": 0},
        {"B": 500, "A": 1.0, "C": 100, "D": 100},  # unsorted mapping, two equal thresholds
    ],
)
@pytest.mark.parametrize("spend", [SPENDS, SPENDS.astype(np.float64) + 0.5, SPENDS[:0]])
def test_earned_is_the_highest_threshold_reached(mapping, spend):
    t = Thresholds.from_mapping(mapping)
    want = np.maximum(np.searchsorted(t.cents, spend, side="right") - 1, 0).astype(np.int8)
    got = t.earned(spend)
    assert got.dtype == np.int8
    assert np.array_equal(got, want)
