"""The plan's fast sorts give exactly what numpy's own give: np.argsort(kind="stable"), ties
included, and np.unique."""

from __future__ import annotations

import numpy as np
import pytest

from ecomlake.plan.sorting import sorted_unique, stable_argsort, stable_argsort_wide
from ecomlake.rng import Rng

N = 50_000


def _keys(low: int, high: int) -> np.ndarray:
    return Rng(5).integers("test.sort", np.arange(N), low, high)


@pytest.mark.parametrize(
    "keys",
    [
        _keys(0, 20),  # many ties
        _keys(-1000, 1000),  # negative keys
        _keys(0, 2**40),  # packs: 40 + 16 bits
        _keys(0, 2**62),  # too wide to pack: the plain stable sort
        np.array([3]),
        np.zeros(0, np.int64),
    ],
)
def test_stable_argsort_matches_numpy(keys):
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("keys", [_keys(0, 2**62), _keys(0, 50), Rng(5).bits("b", np.arange(N))])
def test_stable_argsort_wide_matches_numpy(keys):
    assert np.array_equal(stable_argsort_wide(keys), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize(
    "values",
    [
        _keys(0, 20),
        _keys(-1000, 1000),
        _keys(0, 2**62),
        np.array([3], np.int32),
        np.array([7, 7], np.int64),
        np.zeros(0, np.int64),
    ],
)
def test_sorted_unique_matches_numpy(values):
    got, want = sorted_unique(values), np.unique(values)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)
