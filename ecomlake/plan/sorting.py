"""Stable sorts of the plan's integer keys, computed the fast way with the same result.

`np.argsort(kind="stable")` on millions of int64 keys is a merge sort and the plan's largest
single cost. Packing (key, position) into one int64 word makes every word unique, so numpy's
unstable SIMD sort of the words gives exactly the stable order, about three times faster; keys
of a range no wider than their count are counted into place instead (ecomlake._kernels).
"""

from __future__ import annotations

import logging

import numpy as np

try:
    import ecomlake._kernels as _kernels
except ImportError:  # built without a C compiler: the same orders, by numpy's sorts
    _kernels = None
    logging.getLogger(__name__).debug("ecomlake._kernels is not built; sorts use numpy")


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """Exactly `np.argsort(keys, kind="stable")` for an integer array."""
    keys = np.asarray(keys)
    n = len(keys)
    if n < 2:
        return np.arange(n, dtype=np.intp)
    low, high = int(keys.min()), int(keys.max())
    if _kernels is not None and high - low < n:
        # no more distinct values than keys (signup days, say): a counting sort in C
        order = np.empty(n, dtype=np.int64)
        keys = keys.astype(np.int64, order="C", copy=False)
        _kernels.counting_argsort(keys, low, high - low + 1, order)
        return order
    shift = (n - 1).bit_length()
    if (high - low).bit_length() + shift > 62:
        return np.argsort(keys, kind="stable")  # too wide to pack: the plain stable sort
    packed = keys.astype(np.int64) - low
    packed <<= shift
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << shift) - 1
    return packed


def coarse_argsort(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in (coarse key, position) order, and the sorted coarse keys, where a coarse
    key is `(key - min) >> drop` with the fewest dropped low bits that let it and the position
    pack into one 63-bit word: one SIMD sort of the words, several times faster than
    `np.argsort` of int64 keys.

    Nothing is dropped when they fit (then this is the stable order); otherwise the order is
    exact between keys whose coarse keys differ, and the caller settles runs of equal coarse
    keys, which are rare when the keys spread far wider than the positions (microseconds).
    """
    keys = np.asarray(keys)
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.uint64)
    low, high = int(keys.min()), int(keys.max())
    shift = (n - 1).bit_length()
    drop = max((high - low).bit_length() + shift - 63, 0)
    # keys - low wraps in int64 past 2**63 - 1, but not as uint64: the distance, exactly
    words = keys.astype(np.int64) - np.int64(low)
    words = words.view(np.uint64)
    words >>= np.uint64(drop)
    words <<= np.uint64(shift)
    words |= np.arange(n, dtype=np.uint64)
    words.sort()
    order = (words & np.uint64((1 << shift) - 1)).view(np.int64)
    words >>= np.uint64(shift)
    return order, words


def stable_argsort_wide(keys: np.ndarray) -> np.ndarray:
    """Exactly `np.argsort(keys, kind="stable")` for keys too wide to pack (e.g. microseconds).

    An unstable sort is the stable one when no two keys are equal, which is the rule for
    timestamps in microseconds; ties, if any, are put back in position order.
    """
    order = np.argsort(keys)
    ordered = keys[order]
    tie = ordered[1:] == ordered[:-1]
    if not tie.any():
        return order
    return order[np.lexsort((order, ordered))]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Exactly `np.unique(values)` for an integer array: a sort and a mask, several times
    faster on the small arrays a day piece has (np.unique's own set-up dominates there)."""
    ordered = np.sort(np.asarray(values))
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
