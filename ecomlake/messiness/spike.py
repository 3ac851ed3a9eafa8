"""The sales spike: orders.total_items × factor (truncated) for one month; no other column moves.

The month is drawn from the seed among the months of the world window (never from the run's
days), or the months come from `parameters.seasonal_spike_factors[intensity]` when configured.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.messiness.levels import MessLevel, spike_factors
from ecomlake.plan.calendar import month_index, month_of
from ecomlake.plan.world import WorldPlan
from ecomlake.rng import streams as s


def spike_month(world: WorldPlan) -> int:
    """The spiked month (months since 1970-01), a pure function of the seed and the window."""
    months = np.unique(month_index(np.arange(world.start_day, world.end_day + 1)))
    pick = world.rng.integers(s.MESS_SPIKE_MONTH, np.zeros(1, np.uint64), 0, len(months) - 1)
    return int(months[pick[0]])


def spike_factor(world: WorldPlan, day: int, level: MessLevel) -> float:
    """The factor for orders placed on `day` (1.0: no spike)."""
    by_month = spike_factors(world.config, level)
    if by_month is not None:
        return float(by_month.get(int(month_of(np.array([day]))[0]), 1.0))
    if level.sales_spike_factor == 1.0:
        return 1.0
    in_month = int(month_index(np.array([day]))[0]) == spike_month(world)
    return level.sales_spike_factor if in_month else 1.0


def is_active(world: WorldPlan, level: MessLevel) -> bool:
    """Whether any day of this level can spike (so the column is worth visiting)."""
    return spike_factors(world.config, level) is not None or level.sales_spike_factor != 1.0


def spike_total_items(cells: Cells, values: pa.Array) -> pa.Array:
    """Every order of the day is an order of the same month, so one factor fits all rows."""
    factor = spike_factor(cells.ctx.world, cells.ctx.day, cells.level)
    if factor == 1.0:
        return values
    scaled = pc.multiply(pc.cast(values, pa.float64()), factor)
    return pc.cast(pc.trunc(scaled), values.type)
