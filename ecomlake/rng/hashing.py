"""Counter-based randomness: 64 random bits are a pure function of (seed, stream, key, index).

Vectorised splitmix64 over uint64 numpy arrays; nothing is drawn in sequence, so a value never
depends on which other values were drawn, on chunking or on the process that draws it. The C
extension ecomlake._kernels computes the same bits (and uniforms) in one pass; the numpy code
is its fallback.
"""

from __future__ import annotations

import functools
import hashlib
import logging

import numpy as np

try:
    import ecomlake._kernels as _kernels
except ImportError:  # built without a C compiler: the same bits, via numpy
    _kernels = None
    logging.getLogger(__name__).debug("ecomlake._kernels is not built; random bits use numpy")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_INDEX_MUL = np.uint64(0xD6E8FEB86659FD93)
_TO_UNIT = 1.0 / float(1 << 53)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_BLOCK = 1 << 15


def mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijection on uint64 with full avalanche."""
    x = np.array(x, dtype=np.uint64)  # a copy: updated in place below
    with np.errstate(over="ignore"):
        _mix_inplace(x, np.empty_like(x))
    return x


def _mix_inplace(x: np.ndarray, scratch: np.ndarray) -> None:
    """mix64 of `x` in place, with `scratch` (same shape) for the shifted copy; the caller
    silences numpy's overflow warning (the multiplications wrap on purpose)."""
    for shift, mul in ((_S30, _MUL1), (_S27, _MUL2)):
        np.bitwise_xor(x, np.right_shift(x, shift, out=scratch), out=x)
        np.multiply(x, mul, out=x)
    np.bitwise_xor(x, np.right_shift(x, _S31, out=scratch), out=x)


@functools.lru_cache(maxsize=4096)
def stream_key(seed: int, stream: str) -> np.uint64:
    """Key of a named stream under a root seed; adding a stream never shifts another.

    Cached: day tasks build a fresh `Rng` per context, and a key costs ~40 µs to derive.
    """
    digest = hashlib.blake2b(stream.encode(), digest_size=8).digest()
    name_bits = np.uint64(int.from_bytes(digest, "little"))
    seed_bits = mix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    return mix64(np.array([seed_bits ^ name_bits], dtype=np.uint64))[0]


def random_bits(key: np.uint64, entity: np.ndarray, index: int | np.ndarray = 0) -> np.ndarray:
    """64 random bits per entity id (and optional per-entity index, e.g. a line number)."""
    if _kernels is None:
        return _random_bits_numpy(key, entity, index)
    entity, index, bits = _kernel_arrays(entity, index, np.uint64)
    _kernels.hash_bits(key, entity, index, bits)
    return bits


def random_units(key: np.uint64, entity: np.ndarray, index: int | np.ndarray = 0) -> np.ndarray:
    """`units_from_bits(random_bits(...))`: in C, without the bits array and its three passes."""
    if _kernels is None:
        return units_from_bits(_random_bits_numpy(key, entity, index))
    entity, index, units = _kernel_arrays(entity, index, np.float64)
    _kernels.hash_units(key, entity, index, units)
    return units


_WORDS = (np.dtype(np.int64), np.dtype(np.uint64))  # the kernels read either as uint64


def _kernel_arrays(
    entity: np.ndarray, index: int | np.ndarray, dtype: type[np.generic]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entity and index as the C-ordered 8-byte integers the kernels read (converted like
    `astype(np.uint64)`, broadcast to one shape unless the index is one value), and an empty
    output of that shape."""
    entity, index = np.asarray(entity), np.asarray(index)
    if index.shape not in ((), entity.shape):
        entity, index = np.broadcast_arrays(entity, index)
    entity, index = (
        np.asarray(a, order="C") if a.dtype in _WORDS else a.astype(np.uint64, order="C")
        for a in (entity, index)
    )
    return entity, index, np.empty(entity.shape, dtype)


def _random_bits_numpy(
    key: np.uint64, entity: np.ndarray, index: int | np.ndarray = 0
) -> np.ndarray:
    """random_bits without the C extension, hashed in place one cache-sized block at a time:
    the plan hashes ~10^8 values, and ten passes over a block that stays in L2 cost a third of
    ten passes over the whole array."""
    with np.errstate(over="ignore"):
        salt = (np.asarray(index).astype(np.uint64, copy=False) + np.uint64(1)) * _INDEX_MUL
    # always a fresh C-ordered array: hashed in place below, through its flat view
    x = np.asarray(entity).astype(np.uint64, order="C")
    if salt.shape not in ((), x.shape):
        x, salt = (np.array(a) for a in np.broadcast_arrays(x, salt))
    flat = x.reshape(-1)
    salts = salt.reshape(-1) if salt.ndim else salt
    scratch = np.empty(min(_BLOCK, flat.size), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, flat.size, _BLOCK):
            block = flat[start : start + _BLOCK]
            tmp = scratch[: len(block)]
            np.multiply(block, _GOLDEN, out=block)
            np.add(block, key, out=block)
            _mix_inplace(block, tmp)
            np.bitwise_xor(block, salts[start : start + _BLOCK] if salt.ndim else salts, out=block)
            _mix_inplace(block, tmp)
    return x


def to_unit(bits: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from the top 53 bits."""
    return units_from_bits(np.array(bits, dtype=np.uint64))


def units_from_bits(bits: np.ndarray) -> np.ndarray:
    """`to_unit` that consumes `bits` (shifted in place). The 53 bits fit an int64, which
    converts to float64 exactly like the uint64 but several times faster."""
    np.right_shift(bits, _S11, out=bits)
    units = bits.view(np.int64).astype(np.float64)
    units *= _TO_UNIT
    return units
