"""Keyed randomness: every value is a pure function of (seed, stream, entity key, index)."""

from ecomlake.rng.draws import Rng, cumulative
from ecomlake.rng.hashing import mix64, random_bits, stream_key, to_unit

__all__ = ["Rng", "cumulative", "mix64", "random_bits", "stream_key", "to_unit"]
