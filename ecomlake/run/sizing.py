"""How much work a run is, read from its plan, and whether starting a local Ray pays for itself.

`--executor auto` uses this for a local run of a small world: the plan is cheap to build first,
and a run whose work is a few seconds finishes sooner in-process than a local Ray can start,
take the days and shut down again (docs/performance.md, "Task size"). Bytes never depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError
from ecomlake.plan.memory import catalog_too_big, plan_too_big
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.extent import partition_rows
from ecomlake.run.task import DayTask

# Measured on the 2-core box of docs/performance.md, in-process with the plan cached:
SECONDS_PER_PARTITION = 0.003  # a partition's files: writer set-up, folder, manifest, _SUCCESS
SECONDS_PER_ROW = 4e-6  # render, lineage and encode of one row (customers dominate)
LOCAL_RAY_SECONDS = 5.0  # start (3-4.5 s), workers' first import, shutdown (1.1-1.5 s)
# Worlds up to this many customers plan in well under a second, so `auto` can plan before it
# chooses; bigger worlds keep planning while Ray starts (their runs take Ray anyway).
PLAN_FIRST_MAX_CUSTOMERS = 200_000


@dataclass(frozen=True)
class WorkEstimate:
    """Partitions and rows a run will write, and the single-core seconds they cost here."""

    partitions: int
    rows: int

    @property
    def seconds(self) -> float:
        return self.partitions * SECONDS_PER_PARTITION + self.rows * SECONDS_PER_ROW

    def local_ray_pays_off(self, workers: int) -> bool:
        """True if spreading the work over `workers` saves more than a local Ray costs."""
        return workers > 1 and self.seconds * (1 - 1 / workers) > LOCAL_RAY_SECONDS

    def __str__(self) -> str:
        return f"{self.partitions} partitions, {self.rows} rows, ≈{self.seconds:.1f} s of work"


def plans_quickly(cfg: EcomConfig) -> bool:
    """Whether the world is small enough to plan before choosing an executor."""
    return cfg.lookup_config.customers.num_customers <= PLAN_FIRST_MAX_CUSTOMERS


def estimate_work(world: WorldPlan, tasks: Sequence[DayTask]) -> WorkEstimate:
    """Rows and partitions of a clean run of `tasks` into an empty lake, from the plan alone."""
    partitions = rows = 0
    for task in tasks:
        found = partition_rows(DayContext(world, task.day, task.signup_days, task.owns_catalog))
        partitions += len(found)
        rows += sum(found.values())
    return WorkEstimate(partitions, rows)


def check_plan_fits(cfg: EcomConfig, blocks: int, on_ray: bool) -> None:
    """Refuse, before anything is written, a world whose plan cannot fit this machine's memory
    (plan/memory.py); `blocks` customers per block, planned on Ray when `on_ray`."""
    if (too_many := catalog_too_big(cfg)) is not None:
        raise ConfigError(too_many)
    why = plan_too_big(cfg, blocks if on_ray else 0)
    if why is None:
        return
    way_out = (
        "plan bigger blocks (--block-customers) or fewer customers"
        if blocks and on_ray
        else "plan it in blocks on Ray (--block-customers, --executor ray) or fewer customers"
    )
    raise ConfigError(f"lookup_config.customers.num_customers: {why}; {way_out}")
