"""The days a lake holds, as runs of consecutive days. Inside one run every day between an
event and a later one is held, so a customer's earlier carts or an order's returns are all
visible exactly when they fall in the same run."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class HeldDays:
    """Sorted day numbers with the first and last day of the run each belongs to."""

    def __init__(self, days: Iterable[int]) -> None:
        self.days = np.unique(np.fromiter(days, dtype=np.int64))
        opens = np.concatenate([[True], np.diff(self.days) != 1])[: len(self.days)]
        starts = np.flatnonzero(opens)
        ends = np.concatenate([starts[1:] - 1, [len(self.days) - 1]])[: len(starts)]
        run = np.cumsum(opens) - 1
        self._first = self.days[starts][run]
        self._last = self.days[ends][run]

    def runs(self) -> tuple[list[int], list[int]]:
        """Each held day and the first day of its run, as lists for SQL parameters."""
        return self.days.tolist(), self._first.tolist()

    def holds(self, days: np.ndarray) -> np.ndarray:
        """Which of `days` the lake holds."""
        days = np.asarray(days, dtype=np.int64)
        at = np.clip(np.searchsorted(self.days, days), 0, max(len(self.days) - 1, 0))
        return (self.days[at] == days) if len(self.days) else np.zeros(len(days), dtype=bool)

    def run_first(self, days: np.ndarray) -> np.ndarray:
        """First day of the run holding each of `days` (which must be held)."""
        return self._first[np.searchsorted(self.days, np.asarray(days, dtype=np.int64))]

    def run_last(self, days: np.ndarray) -> np.ndarray:
        """Last day of the run holding each of `days` (which must be held)."""
        return self._last[np.searchsorted(self.days, np.asarray(days, dtype=np.int64))]
