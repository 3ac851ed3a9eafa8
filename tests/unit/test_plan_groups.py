"""Rows expanded from group counts (plan/groups.py): the C kernels and the numpy fallback give
np.repeat's groups, ranks and running sums, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_paths import kernel_and_numpy

from ecomlake.plan import groups
from ecomlake.plan.groups import group_cumsum, group_ranks
from ecomlake.rng import Rng

COUNTS = {
    "poisson counts": Rng(4).poisson("test.counts", np.arange(20_000), 1.6),
    "zero counts around": np.array([0, 0, 3, 0, 1, 0]),
    "one group": np.array([5]),
    "all zero": np.zeros(4, np.int64),
    "no groups": np.zeros(0, np.int64),
    "int32 counts": np.array([2, 1, 3], np.int32),
}


group_path = kernel_and_numpy(groups, "Runs a test on the C kernels and on their numpy fallback.")


@pytest.mark.usefixtures("group_path")
@pytest.mark.parametrize("counts", COUNTS.values(), ids=COUNTS.keys())
def test_ranks_and_running_sums_are_the_repeat_formulas(counts):
    group, rank = group_ranks(counts)
    want_group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    assert group.dtype == rank.dtype == np.int64
    assert np.array_equal(group, want_group)
    assert np.array_equal(rank, np.arange(len(group)) - starts[want_group])
    values = Rng(5).integers("test.values", np.arange(len(group)), -(2**62), 2**62)
    with np.errstate(over="ignore"):  # sums past int64 wrap, in both
        sums = group_cumsum(values, counts)
        want = [np.cumsum(values[s : s + c]) for s, c in zip(starts, counts, strict=True)]
    assert sums.dtype == np.int64
    assert np.array_equal(sums, np.concatenate([np.zeros(0, np.int64), *want]))


@pytest.mark.usefixtures("group_path")
def test_bad_counts_raise():
    with pytest.raises(ValueError):
        group_ranks(np.array([2, -1, 3]))
    with pytest.raises(ValueError):
        group_cumsum(np.arange(4), np.array([2, 1]))
