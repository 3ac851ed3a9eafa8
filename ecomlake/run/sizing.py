"""How much work a run is, read from its plan, and whether starting a local Ray pays for itself.

`--executor auto` uses this for a local run of a small world: the plan is cheap to build first,
and a run whose work is a few seconds finishes sooner in-process than a local Ray can start,
take the days and shut down again (docs/performance.md, "Task size"). Bytes never depend on it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError
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


# What the driver holds to plan a world (docs/performance.md): a plan in one piece, or blocks
# planned in-process, grows about 0.35 GB per million customers; blocks planned on Ray leave
# their pieces in the object store, and the driver keeps, per block, one priority histogram
# (512 KiB, the shopper cut's first round) and its per-day counts.
PLAN_BYTES_PER_CUSTOMER = 350
BLOCK_DRIVER_BYTES = 640 * 1024


def check_plan_fits(cfg: EcomConfig, blocks: int, on_ray: bool) -> None:
    """Refuse, before anything is written, a world whose plan cannot fit this machine's memory
    (a typo of a few zeros would otherwise grind for hours and end out of memory)."""
    have = physical_memory()
    customers = cfg.lookup_config.customers.num_customers
    if blocks and on_ray:
        count = -(-customers // blocks)
        need = count * BLOCK_DRIVER_BYTES
        held = f"the driver's summaries of its {count:,} plan blocks"
        way_out = "plan bigger blocks (--block-customers) or fewer customers"
    else:
        need = customers * PLAN_BYTES_PER_CUSTOMER
        held = "its plan, built in this process,"
        way_out = "plan it in blocks on Ray (--block-customers, --executor ray) or fewer customers"
    if have is not None and need > have:
        raise ConfigError(
            f"lookup_config.customers.num_customers: {customers:,} customers: {held} would "
            f"take about {need / 2**30:,.1f} GiB, more than this machine's "
            f"{have / 2**30:,.1f} GiB; {way_out}"
        )


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
