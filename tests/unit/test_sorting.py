"""The plan's fast sorts give exactly what numpy's own give: np.argsort(kind="stable"), ties
included, and np.unique."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_paths import kernel_and_numpy

from ecomlake.plan import sorting
from ecomlake.plan.carts import time_order
from ecomlake.plan.sorting import (
    coarse_argsort,
    sorted_unique,
    stable_argsort,
    stable_argsort_wide,
)
from ecomlake.rng import Rng

N = 50_000


def _keys(low: int, high: int) -> np.ndarray:
    return Rng(5).integers("test.sort", np.arange(N), low, high)


sort_path = kernel_and_numpy(
    sorting, "Runs a test with the C counting sort (ecomlake/_kernels.c) and without it."
)


@pytest.mark.usefixtures("sort_path")
@pytest.mark.parametrize(
    "keys",
    [
        _keys(0, 20),  # many ties: counted
        _keys(-1000, 1000),  # negative keys: counted
        _keys(-1000, 1000).astype(np.int32),  # int32 keys (signup days): counted
        _keys(0, N - 1),  # a range exactly as wide as the keys: counted
        _keys(0, N),  # one wider: packed
        _keys(0, 2**40),  # packs: 40 + 16 bits
        _keys(0, 2**62),  # too wide to pack: the plain stable sort
        np.array([7, 7]),
        np.array([3]),
        np.zeros(0, np.int64),
    ],
)
def test_stable_argsort_matches_numpy(keys):
    got = stable_argsort(keys)
    assert got.dtype == np.intp
    assert np.array_equal(got, np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("keys", [_keys(0, 2**62), _keys(0, 50), Rng(5).bits("b", np.arange(N))])
def test_stable_argsort_wide_matches_numpy(keys):
    assert np.array_equal(stable_argsort_wide(keys), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize(
    "keys",
    [
        _keys(0, 20),  # packs whole: the stable order
        Rng(5).bits("b", np.arange(N)).view(np.int64),  # 64 bits of spread: 17 dropped
        _keys(0, 2**48),  # 48 + 16 bits: one dropped
        np.array([2**63 - 1, -(2**63), 0]),  # the full int64 range
        np.array([3]),
        np.zeros(0, np.int64),
    ],
)
def test_coarse_argsort_is_stable_on_coarse_keys(keys):
    order, coarse = coarse_argsort(keys)
    n = len(keys)
    spread = int(keys.max()) - int(keys.min()) if n else 0
    drop = max(spread.bit_length() + (n - 1).bit_length() - 63, 0) if n else 0
    want = (keys - (keys.min() if n else 0)).view(np.uint64) >> np.uint64(drop)
    assert np.array_equal(order, np.argsort(want, kind="stable"))
    assert np.array_equal(coarse, want[order])


def _time_order_numpy(ts: np.ndarray, key: np.ndarray) -> np.ndarray:
    """What time_order documents: numpy's argsort of the timestamps, ties sorted by key."""
    order = np.argsort(ts)
    ordered = ts[order]
    for t in np.unique(ordered[1:][ordered[1:] == ordered[:-1]]):
        run = np.flatnonzero(ordered == t)
        order[run] = order[run][np.argsort(key[order[run]])]
    return order


_US = 86_400_000_000


@pytest.mark.parametrize(
    "ts",
    [
        _keys(0, 10 * 365 * _US),  # microseconds of ten years: 48 bits, one dropped
        (_keys(0, 200) << 40) + _keys(0, 3),  # neighbours in one coarse run, and equal ones
        _keys(0, 20),  # packs whole, many ties
        np.array([5, 3, 5, 3, 1, 5], dtype=np.int64) * 2**50,  # ties, too wide to pack whole
        np.array([7], dtype=np.int64),
        np.zeros(0, np.int64),
    ],
)
def test_time_order_is_numpy_argsort_with_ties_by_key(ts):
    key = Rng(6).bits("test.key", np.arange(len(ts))).view(np.int64) >> 1  # unique keys
    assert np.array_equal(time_order(ts, key), _time_order_numpy(ts, key))


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
