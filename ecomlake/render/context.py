"""DayContext: one day's view of the world plan, plus the lines its tables share (no I/O).

Lines are derived once per context and shared by the tables that need them (carts and their
items; orders, their items and the returns of earlier orders).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ecomlake.plan.calendar import day_date
from ecomlake.plan.lines import Lines, MergedLines
from ecomlake.plan.world import WorldPlan
from ecomlake.render.lines import lines_of_carts, order_lines
from ecomlake.render.return_lines import ReturnedLines, returned_lines
from ecomlake.rng import Rng


@dataclass
class DayContext:
    """What the renderers of one day read.

    `signup_days` are the customer partitions this task owns (its own day, plus earlier days no
    other task of the run covers); `owns_catalog` is true for exactly one task per run.
    """

    world: WorldPlan
    day: int
    signup_days: tuple[int, ...] = ()
    owns_catalog: bool = False

    @property
    def day_iso(self) -> str:
        return day_date(self.day).isoformat()

    @property
    def rng(self) -> Rng:
        return self.world.rng

    @cached_property
    def cart_positions(self) -> np.ndarray:
        sl = self.world.carts_on(self.day)
        return np.arange(sl.start, sl.stop)

    @cached_property
    def order_positions(self) -> np.ndarray:
        sl = self.world.orders_on(self.day)
        return np.arange(sl.start, sl.stop)

    @cached_property
    def return_positions(self) -> np.ndarray:
        sl = self.world.returns_on(self.day)
        return np.arange(sl.start, sl.stop)

    @cached_property
    def cart_lines(self) -> Lines:
        """Every drawn line of today's carts (emptied carts included)."""
        return lines_of_carts(self.world, self.cart_positions)

    @cached_property
    def order_lines(self) -> MergedLines:
        """Merged, discounted lines of today's orders; `.cart` indexes `order_positions`."""
        return order_lines(self.world, self.order_positions)

    @cached_property
    def returned(self) -> ReturnedLines:
        """Lines taken by today's returns; `.ret` indexes `return_positions`."""
        return returned_lines(self.world, self.return_positions)
