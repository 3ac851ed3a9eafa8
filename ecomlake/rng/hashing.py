"""Counter-based randomness: 64 random bits are a pure function of (seed, stream, key, index).

Vectorised splitmix64 over uint64 numpy arrays; nothing is drawn in sequence, so a value never
depends on which other values were drawn, on chunking or on the process that draws it.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_INDEX_MUL = np.uint64(0xD6E8FEB86659FD93)
_TO_UNIT = 1.0 / float(1 << 53)


def mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijection on uint64 with full avalanche."""
    x = np.array(x, dtype=np.uint64)  # a copy: updated in place below
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= _MUL1
        x ^= x >> np.uint64(27)
        x *= _MUL2
        x ^= x >> np.uint64(31)
    return x


@functools.cache
def stream_key(seed: int, stream: str) -> np.uint64:
    """Key of a named stream under a root seed; adding a stream never shifts another.

    Cached: the rng handed out per day is a fresh `Rng`, and a blake2b per draw adds up."""
    digest = hashlib.blake2b(stream.encode(), digest_size=8).digest()
    name_bits = np.uint64(int.from_bytes(digest, "little"))
    seed_bits = mix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    return mix64(np.array([seed_bits ^ name_bits], dtype=np.uint64))[0]


def random_bits(key: np.uint64, entity: np.ndarray, index: int | np.ndarray = 0) -> np.ndarray:
    """64 random bits per entity id (and optional per-entity index, e.g. a line number)."""
    entity = np.asarray(entity).astype(np.uint64, copy=False)
    idx = np.asarray(index).astype(np.uint64, copy=False)
    with np.errstate(over="ignore"):
        x = mix64(entity * _GOLDEN + key)
        x = mix64(x ^ ((idx + np.uint64(1)) * _INDEX_MUL))
    return x


def to_unit(bits: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from the top 53 bits."""
    return (bits >> np.uint64(11)).astype(np.float64) * _TO_UNIT
