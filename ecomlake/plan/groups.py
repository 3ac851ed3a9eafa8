"""Rows expanded from per-group counts: repeat visits per shopper, lines per cart, seasonal
copies per visit. Each row's group and rank, and running sums that restart at each group, in
one C pass (ecomlake._kernels) where numpy takes a repeat, a gather and several passes; the
numpy code stays as the fallback and gives the same arrays.
"""

from __future__ import annotations

import logging

import numpy as np

try:
    import ecomlake._kernels as _kernels
except ImportError:  # built without a C compiler: the same arrays, via numpy
    _kernels = None
    logging.getLogger(__name__).debug("ecomlake._kernels is not built; groups use numpy")


def group_ranks(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows in consecutive groups of `counts[g]` rows: each row's group,
    `np.repeat(np.arange(len(counts)), counts)`, and its 0-based rank in the group (int64)."""
    counts = np.asarray(counts, dtype=np.int64, order="C")
    if _kernels is None:
        group = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        rank = np.arange(len(group), dtype=np.int64)
        rank -= (np.cumsum(counts) - counts)[group]
        return group, rank
    n = int(counts.sum()) if np.all(counts >= 0) else -1  # negative: the kernel says which
    group = np.empty(max(n, 0), dtype=np.int64)
    rank = np.empty_like(group)
    _kernels.group_ranks(counts, group, rank)
    return group, rank


def group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sums of int64 `values` that restart at each group of `counts[g]` rows."""
    values = np.asarray(values, dtype=np.int64, order="C")
    counts = np.asarray(counts, dtype=np.int64, order="C")
    if _kernels is None:
        total = np.cumsum(values)
        starts = np.cumsum(counts) - counts
        total -= np.concatenate([[0], total])[starts][np.repeat(np.arange(len(counts)), counts)]
        return total
    out = np.empty(len(values), dtype=np.int64)
    _kernels.group_cumsum(values, counts, out)
    return out
