"""Helpers shared by the messiness tests: render days clean, apply a level, digest a lake."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.config import EcomConfig
from ecomlake.messiness import apply_messiness, resolve_level, undo_defects
from ecomlake.messiness.registry import ROW_DEFECTS
from ecomlake.plan.calendar import day_number
from ecomlake.plan.world import WorldPlan, build_world
from ecomlake.render.context import DayContext
from ecomlake.render.day import clean_tables
from ecomlake.render.registry import TABLES
from ecomlake.run.days import assign_tasks

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
WORLD_START, WORLD_END = dt.date(2024, 1, 1), dt.date(2024, 3, 31)  # pinned in quick.yaml
PINNED = {"batch_id": "golden", "ingestion_ts": "2024-04-01T00:00:00+00:00"}


@dataclass
class Rendered:
    """One table of one day's task: clean, and (after `dirty`) dirty with its log."""

    ctx: DayContext
    table: str
    clean: pa.Table


def build(cfg: EcomConfig, seed: int = 42) -> WorldPlan:
    return build_world(cfg, seed, day_number(WORLD_START), day_number(WORLD_END))


def all_days() -> list[dt.date]:
    return [WORLD_START + dt.timedelta(days=i) for i in range((WORLD_END - WORLD_START).days + 1)]


def render_days(
    world: WorldPlan, days: list[dt.date], tables: tuple[str, ...] | None = None
) -> list[Rendered]:
    """Every table (or the named ones) of every task of `days`, as `run_day` renders them."""
    out = []
    for task in assign_tasks(days, world.signup_days()):
        ctx = DayContext(world, task.day, task.signup_days, task.owns_catalog)
        specs = [spec for spec in TABLES if tables is None or spec.name in tables]
        out += [Rendered(ctx, spec.name, data) for spec, data in clean_tables(ctx, specs)]
    return out


def dirty(
    rendered: list[Rendered], level_name: str, copies: bool = True
) -> list[tuple[Rendered, pa.Table, pa.Table]]:
    """(clean, dirty, log) for each rendered table at `level_name` (without the duplicate rows
    unless `copies`, so that dirty rows line up with clean ones)."""
    out = []
    for item in rendered:
        level = resolve_level(item.ctx.world.config, level_name)
        data, log = apply_messiness(item.ctx, item.table, item.clean, level)
        out.append((item, data if copies else drop_copies(data, log, item.table), log))
    return out


def digest(root: Path) -> dict[str, str]:
    """sha256 of every lake file except the run manifests (they hold timings)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_runs" not in p.parts
    }


def first_difference(a: dict[str, str], b: dict[str, str]) -> str:
    return next((k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)), "")


def cell_entries(log: pa.Table) -> pa.Table:
    """The log's cell defects (no copies, no late rows)."""
    kinds = pa.array(ROW_DEFECTS)
    return log.filter(pc.invert(pc.is_in(log.column("defect_type"), value_set=kinds)))


def drop_copies(data: pa.Table, log: pa.Table, table: str) -> pa.Table:
    """`data` without the duplicate rows the log records (cells left dirty)."""
    copies = log.filter(pc.is_in(log.column("defect_type"), value_set=pa.array(ROW_DEFECTS)))
    return undo_defects(data, copies, table)


def assert_rate(
    hits: int, n: int, p: float, what: str, low: float | None = None, min_n: int = 4000
) -> None:
    """hits/n within 5 sigma of p, or of [low, p] when some draws cannot change the value."""
    sigma = math.sqrt(max(p * (1 - p), 1e-9) / n)
    assert n > min_n, f"{what}: sample too small ({n})"
    lo = p if low is None else low
    assert lo - 5 * sigma - 1e-9 <= hits / n <= p + 5 * sigma + 1e-9, (
        f"{what}: {hits}/{n} = {hits / n:.4f}, want {p}"
    )
