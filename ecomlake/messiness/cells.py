"""What every defect injector gets: the day, the column being dirtied and its rows' keys."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ecomlake.messiness.keys import column_code
from ecomlake.messiness.levels import MessLevel
from ecomlake.render.context import DayContext
from ecomlake.rng import Rng


@dataclass(frozen=True)
class Cells:
    """One column of one table of one day; `keys` are the rows' primary-key hashes.

    Streams are shared by columns; `code` (a hash of `table.column`) is the draw index that
    keeps the columns' draws apart.
    """

    ctx: DayContext
    table: str
    column: str
    keys: np.ndarray
    level: MessLevel
    rng: Rng
    code: np.uint64 = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", column_code(self.table, self.column))

    def draw(self, stream: str, p: float, values: pa.Array) -> np.ndarray:
        """True for the non-null cells hit with probability `p` (keyed by row and column)."""
        hit = self.rng.bernoulli(stream, self.keys, p, index=self.code)
        return hit & is_valid(values)

    def integers(self, stream: str, low: int, high: int) -> np.ndarray:
        """A keyed integer in [low, high] per row."""
        return self.rng.integers(stream, self.keys, low, high, index=self.code)


def is_valid(values: pa.Array) -> np.ndarray:
    """Non-null mask as a numpy bool array."""
    return values.is_valid().to_numpy(zero_copy_only=False)
