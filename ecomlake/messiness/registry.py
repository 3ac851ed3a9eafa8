"""Every defect in one list: its name in the defect log, the MessLevel rate that switches it on,
the columns it visits, its injector and the verify checks it may break.

Adding a defect is its module plus one entry here (and its rate on MessLevel and in the YAML
overrides). Cell defects run in list order within a cell; that order is also the defect log's
bit order, so a cell hit by several lists them joined by '+' in this order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyarrow as pa

from ecomlake.messiness import breaks
from ecomlake.messiness.cells import Cells
from ecomlake.messiness.levels import MessLevel, reason_bias_schema
from ecomlake.messiness.nulls import NULL_COLUMNS, blank_cells
from ecomlake.messiness.orphans import ORPHAN_COLUMNS, orphan_keys
from ecomlake.messiness.ranges import RANGE_COLUMNS, out_of_range
from ecomlake.messiness.reason_bias import bias_reasons
from ecomlake.messiness.spike import is_active, spike_total_items
from ecomlake.messiness.stale import STALE_COLUMNS, stale_values
from ecomlake.messiness.stylistic import STYLISTIC_COLUMNS, change_casing, pad_whitespace
from ecomlake.messiness.typos import TYPO_COLUMNS, add_typos
from ecomlake.plan.world import WorldPlan

Injector = Callable[[Cells, pa.Array], pa.Array]


@dataclass(frozen=True)
class DefectSpec:
    """One defect. Row defects (copies, late rows) have no columns and no injector: their own
    modules apply them to whole rows."""

    name: str
    rate: str  # the MessLevel field
    breaks: tuple[str, ...]  # `<family>.<rule>` checks of verify it may fail
    columns: Mapping[str, tuple[str, ...]] | None = None  # table -> columns it visits
    inject: Injector | None = None
    active: Callable[[WorldPlan, MessLevel], bool] | None = None  # default: switched_on

    def switched_on(self, level: MessLevel) -> bool:
        """Whether the level applies it at all (a spike factor of 1 is no spike)."""
        value = getattr(level, self.rate)
        return value != 1.0 if self.rate == "sales_spike_factor" else value > 0

    def applies(self, world: WorldPlan, level: MessLevel) -> bool:
        """Whether it can change a cell of this world at `level` (some need the config too)."""
        return self.active(world, level) if self.active else self.switched_on(level)


DEFECTS: tuple[DefectSpec, ...] = (
    DefectSpec(
        "reason_bias",
        "reason_bias",
        (),  # reasons are free text to verify
        {"returns": ("reason",)},
        bias_reasons,
        lambda world, level: bool(reason_bias_schema(world.config, level)),
    ),
    DefectSpec(
        "sales_spike",
        "sales_spike_factor",
        breaks.SPIKE,
        {"orders": ("total_items",)},
        spike_total_items,
        is_active,
    ),
    DefectSpec("stale_dimension", "stale_dimension", (), STALE_COLUMNS, stale_values),
    DefectSpec("orphan_fk", "orphan_fk", breaks.ORPHANS, ORPHAN_COLUMNS, orphan_keys),
    DefectSpec("out_of_range", "out_of_range", breaks.OUT_OF_RANGE, RANGE_COLUMNS, out_of_range),
    DefectSpec("typo", "typos", breaks.TYPOS, TYPO_COLUMNS, add_typos),
    DefectSpec("whitespace", "whitespace", breaks.STYLISTIC, STYLISTIC_COLUMNS, pad_whitespace),
    DefectSpec("casing", "casing", breaks.STYLISTIC, STYLISTIC_COLUMNS, change_casing),
    DefectSpec("null", "nulls", breaks.NULLS, NULL_COLUMNS, blank_cells),
    DefectSpec("duplicate", "duplicates", breaks.COPIES),
    DefectSpec("near_duplicate", "near_duplicates", breaks.NEAR_COPIES),
    DefectSpec("late_arrival", "late_arrival", breaks.LATE),
)
CELL_DEFECTS = tuple(d for d in DEFECTS if d.inject is not None)
CELL_DEFECT_NAMES = tuple(d.name for d in CELL_DEFECTS)  # bit i of a logged cell: the i-th
COPY_DEFECTS = ("duplicate", "near_duplicate")
LATE_DEFECT = "late_arrival"
ROW_DEFECTS = tuple(d.name for d in DEFECTS if d.inject is None)


def defect(name: str) -> DefectSpec:
    return next(d for d in DEFECTS if d.name == name)


def expected_breaks(
    level: MessLevel | None, spike: bool | None = None, late_cut_off: bool = False
) -> frozenset[str]:
    """Checks a lake at `level` may fail; `spike` says whether a spiked month is in the lake
    (default: whether the level spikes at all); `late_cut_off` that some late rows belong to
    days the lake does not hold."""
    if level is None:
        return frozenset()
    found: set[str] = set()
    for spec in DEFECTS:
        on = spec.switched_on(level)
        if spec.name == "sales_spike" and spike is not None:
            on = spike
        if on:
            found.update(spec.breaks)
    if late_cut_off and level.late_arrival > 0:
        found.update(breaks.LATE_CUT_OFF)
    return frozenset(found)
