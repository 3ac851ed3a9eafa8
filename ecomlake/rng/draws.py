"""Vectorised draws over keyed uniforms: every function maps (stream, entity ids) to values.

`Rng(seed)` binds the root seed; each method takes a stream name from `rng.streams` and an array
of entity ids (plus an optional index such as a line number) and returns one value per id.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecomlake.rng import hashing
from ecomlake.rng.hashing import random_bits, random_units, stream_key

_POISSON_MIN_STEPS = 200


class Rng:
    """Draws keyed by (seed, stream, entity id, index); cheap to build, safe to pickle."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}

    def _key(self, stream: str) -> np.uint64:
        key = self._keys.get(stream)
        if key is None:
            key = self._keys[stream] = stream_key(self.seed, stream)
        return key

    def bits(self, stream: str, ids: np.ndarray, index: int | np.ndarray = 0) -> np.ndarray:
        """Raw 64-bit values (uint64)."""
        return random_bits(self._key(stream), ids, index)

    def uniform(
        self,
        stream: str,
        ids: np.ndarray,
        low: float | np.ndarray = 0.0,
        high: float | np.ndarray = 1.0,
        index: int | np.ndarray = 0,
    ) -> np.ndarray:
        """Floats in [low, high)."""
        u = random_units(self._key(stream), ids, index)
        scale = np.asarray(high) - low
        if not _fits(u, scale, low):
            return low + scale * u
        u *= scale  # in place: the same two roundings as low + scale * u, fewer passes
        u += low
        return u

    def integers(
        self,
        stream: str,
        ids: np.ndarray,
        low: int | np.ndarray,
        high: int | np.ndarray,
        index: int | np.ndarray = 0,
    ) -> np.ndarray:
        """Integers in [low, high], both ends included (int64)."""
        low_a = np.asarray(low, dtype=np.int64)
        high_a = np.asarray(high, dtype=np.int64)
        fused = self._fused("hash_integers", stream, ids, index, (), (low_a, high_a))
        if fused is not None:
            return fused
        span = high_a - low_a + 1
        u = random_units(self._key(stream), ids, index)
        if not _fits(u, span, low_a):
            return low_a + np.minimum((u * span).astype(np.int64), span - 1)
        u *= span  # in place, as above
        picked = u.astype(np.int64)
        np.minimum(picked, span - 1, out=picked)
        picked += low_a
        return picked

    def bernoulli(
        self, stream: str, ids: np.ndarray, p: float | np.ndarray, index: int | np.ndarray = 0
    ) -> np.ndarray:
        """True with probability p."""
        return self.uniform(stream, ids, index=index) < p

    def categorical(
        self,
        stream: str,
        ids: np.ndarray,
        weights: Sequence[float] | np.ndarray,
        index: int | np.ndarray = 0,
    ) -> np.ndarray:
        """Indices into `weights` (one row of weights for all ids), via CDF + searchsorted."""
        cdf = cumulative(weights)
        if (np.diff(cdf) >= 0).all():  # the kernel counts entries <= u: searchsorted's result
            table, row = cdf[None, :], np.zeros((), dtype=np.int64)
            fused = self._fused("hash_categories", stream, ids, index, (table,), (row,))
            if fused is not None:
                return fused
        u = self.uniform(stream, ids, index=index)
        return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)

    def categorical_rows(
        self, stream: str, ids: np.ndarray, cdf_table: np.ndarray, rows: np.ndarray, index=0
    ) -> np.ndarray:
        """Indices drawn per id from its own row of a (n_rows, k) table of cumulative weights.

        The pick is the number of the row's cdf entries <= u: a searchsorted per table row,
        which for nondecreasing rows equals counting over an (ids, k) gather of the table.
        """
        table = np.asarray(cdf_table, dtype=np.float64, order="C")
        rows_a = np.asarray(rows, dtype=np.int64)
        fused = self._fused("hash_categories", stream, ids, index, (table,), (rows_a,))
        if fused is not None:
            return fused
        u = self.uniform(stream, ids, index=index)
        if not (np.diff(cdf_table, axis=1) >= 0).all() or np.ndim(u) != 1:
            picks = (u[:, None] >= cdf_table[rows]).sum(axis=1)
        else:
            picks = np.empty(len(u), dtype=np.int64)
            for row, cdf in enumerate(cdf_table):
                mine = np.flatnonzero(rows == row)
                picks[mine] = np.searchsorted(cdf, u[mine], side="right")
        return np.minimum(picks, cdf_table.shape[1] - 1)

    def _fused(
        self,
        kernel: str,
        stream: str,
        ids: np.ndarray,
        index: int | np.ndarray,
        shared: tuple[np.ndarray, ...],
        per_id: tuple[np.ndarray, ...],
    ) -> np.ndarray | None:
        """A draw in one C pass from the keyed bits (ecomlake/_kernels.c), bit for bit the numpy
        code's; None (numpy's turn) without the kernels, or unless the ids (with the index) are
        1-D and each of `per_id` holds one value or one per id: numpy broadcasts the rest."""
        kernels = hashing._kernels
        if kernels is None:
            return None
        entity, index_a, out = hashing._kernel_arrays(ids, index, np.int64)
        if out.ndim != 1 or any(a.shape not in ((), out.shape) for a in per_id):
            return None
        per_id = tuple(np.asarray(a, order="C") for a in per_id)
        getattr(kernels, kernel)(self._key(stream), entity, index_a, *shared, *per_id, out)
        return out

    def poisson(
        self, stream: str, ids: np.ndarray, lam: np.ndarray, index: int | np.ndarray = 0
    ) -> np.ndarray:
        """Poisson counts by inverse CDF: k climbs while u >= cdf, cdf growing by p = p * lam / k
        from p = exp(-lam). In one C pass per row when the kernels are built (the same float
        steps; exp stays numpy's), else the loop over k below."""
        lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), np.shape(ids)).ravel()
        p = np.exp(-lam)
        limit = _POISSON_MIN_STEPS + int(10 * lam.max(initial=0.0))  # far beyond any real tail
        fused = self._fused("hash_poisson", stream, ids, index, (limit,), (lam, p))
        if fused is not None:
            return fused
        return self._poisson_numpy(stream, ids, lam, p, limit, index)

    def _poisson_numpy(
        self,
        stream: str,
        ids: np.ndarray,
        lam: np.ndarray,
        p: np.ndarray,
        limit: int,
        index: int | np.ndarray,
    ) -> np.ndarray:
        """Rng.poisson's loop over k, never over rows: each step only touches the rows still
        climbing (same float steps per row as the full arrays)."""
        u = np.ravel(self.uniform(stream, ids, index=index))
        k = np.zeros(lam.shape, dtype=np.int64)
        rows = np.flatnonzero(u >= p)
        p, cdf, lam_a, u_a = p[rows], p[rows], lam[rows], u[rows]
        step = 0
        while len(rows) and step < limit:
            step += 1
            p = p * lam_a / step
            cdf = cdf + p
            k[rows] += 1
            going = u_a >= cdf
            rows, p, cdf, lam_a, u_a = rows[going], p[going], cdf[going], lam_a[going], u_a[going]
        return k.reshape(np.shape(ids))

    def normal(self, stream: str, ids: np.ndarray, index: int | np.ndarray = 0) -> np.ndarray:
        """Standard normal via Box-Muller on two keyed uniforms:
        sqrt(-2 log(1 - u1)) * cos(2 pi u2), worked out in place in the first uniforms' array
        (the same operations and roundings as the formula, without its five temporaries)."""
        z = np.asarray(self.uniform(stream, ids, index=index))
        np.subtract(1.0, z, out=z)  # (0, 1]: log is finite
        np.log(z, out=z)
        z *= -2.0
        np.sqrt(z, out=z)
        angle = np.asarray(self.uniform(stream + "#2", ids, index=index))
        angle *= 2.0 * np.pi
        np.cos(angle, out=angle)
        z *= angle
        return z if z.ndim else z[()]

    def lognormal(
        self,
        stream: str,
        ids: np.ndarray,
        mu: np.ndarray,
        sigma: np.ndarray,
        index: int | np.ndarray = 0,
    ) -> np.ndarray:
        """exp(mu + sigma * N(0, 1)), in place in the normals' array when mu and sigma fit it."""
        z = self.normal(stream, ids, index=index)
        if not _fits(z, mu, sigma):
            return np.exp(mu + sigma * z)
        z *= sigma
        z += mu
        return np.exp(z, out=z)

    def priority(self, stream: str, ids: np.ndarray, index: int | np.ndarray = 0) -> np.ndarray:
        """A random sort key per (id, index); ordering by it gives a keyed random permutation."""
        return self.bits(stream, ids, index)


def _fits(u: np.ndarray, *operands: np.ndarray | float) -> bool:
    """True if `u` can take arithmetic with `operands` in place (they broadcast to its shape)."""
    return u.ndim > 0 and np.broadcast_shapes(u.shape, *map(np.shape, operands)) == u.shape


def cumulative(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normalised cumulative weights; all-zero weights fall back to uniform."""
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        w = np.ones_like(w)
        total = w.sum()
    cdf = np.cumsum(w) / total
    cdf[-1] = 1.0
    return cdf
