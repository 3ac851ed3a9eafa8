"""The library's in-memory side: a config from a path, dict or model, the world plan of a
window (through the plan cache, as the CLI plans), and one day's tables without a lake.

Errors name the argument they are about (`day: ...`, `tables: ...`), never a CLI flag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from ecomlake.config import EcomConfig
from ecomlake.config import load_config as load_config_file
from ecomlake.config.bounds import iso_date, seed_problem
from ecomlake.config.load import format_validation_error
from ecomlake.errors import ConfigError, OptionError
from ecomlake.lineage import INGESTION_TS_RULE, Lineage, apply_lineage, is_ingestion_ts
from ecomlake.messiness import MESSINESS_LEVELS, RunLevel, resolve_level
from ecomlake.messiness.day import render_tables
from ecomlake.plan.cache import default_cache_dir, load_or_build_world
from ecomlake.plan.calendar import day_date, day_number
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TABLE_NAMES, TABLES, TableSpec, output_columns
from ecomlake.run.window import DayChoice

DateLike = str | dt.date
ConfigLike = EcomConfig | Mapping | str | Path


def load_config(config: ConfigLike) -> EcomConfig:
    """A validated config from a YAML path, a dict shaped like the YAML, or a model.

    A model is validated again: pydantic's `model_copy(update=...)` and in-place edits of its
    lists and dicts skip validation, and the planner must not meet what a YAML would be refused
    for. The tables' names and column lists are checked here too, not at the first render.
    """
    if isinstance(config, EcomConfig):
        try:
            config = config.document(exclude_none=True, warnings=False)
        except PydanticSerializationError as exc:  # a value of a type no YAML could give
            raise ConfigError(f"config: the model holds a value it cannot: {exc}") from None
    if isinstance(config, Mapping):
        try:
            cfg = EcomConfig.model_validate(dict(config))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc)) from None
    elif isinstance(config, str | Path):
        cfg = load_config_file(config)
    else:
        raise ConfigError(f"config: expected a path, a dict or an EcomConfig, got {type(config)}")
    for spec in TABLES:
        output_columns(cfg, spec)
    return cfg


def as_date(value: DateLike | None, name: str) -> dt.date | None:
    """`value` as a date (YYYY-MM-DD text or a date); a one-line error naming `name` otherwise."""
    if value is None:
        return None
    date = iso_date(value)
    if date is None:
        raise ConfigError(f"{name}: expected a date like 2024-01-05, got {value!r:.60}")
    return date


def world_window(
    cfg: EcomConfig, start: dt.date | None, end: dt.date | None, today: dt.date | None
) -> tuple[dt.date, dt.date]:
    """The config's pinned window, else `start`..`end` (both or neither), else the days up
    to `today` (the UTC date by default); with a pinned window, `start` and `end` must lie in it."""
    if (start is None) != (end is None) and cfg.parameters.pinned_window() is None:
        raise ConfigError(f"{'end' if end is None else 'start'}: needed with the other one")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"start: must be on or before end ({start} > {end})")
    today = as_date(today, "today")
    try:
        choice = DayChoice("", start, end)
        first, last, _ = choice.world(cfg, today or dt.datetime.now(dt.UTC).date())
    except OptionError as exc:  # named as this function's arguments
        raise ConfigError(exc.render(lambda field: field.removesuffix("_date"))) from None
    if cfg.parameters.pinned_window() is not None:  # the window is the config's: days inside it
        for name, value in (("start", start), ("end", end)):
            if value is not None and not first <= value <= last:
                raise ConfigError(f"{name}: {value} is outside the world window {first}..{last}")
    return first, last


def plan_world(
    config: ConfigLike,
    seed: int | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    *,
    plan_cache: bool = True,
    today: dt.date | None = None,
) -> WorldPlan:
    """The world plan `generate` would render: the config's pinned window (else `start`..`end`,
    else the days up to `today`), seeded with `seed` or the config's `faker_seed`.

    With `plan_cache` the plan is loaded from (or stored in) the same cache the CLI uses, so
    the second call for a world is a file read.
    """
    if not isinstance(plan_cache, bool):  # "no" would be true
        raise ConfigError(f"plan_cache: expected True or False, got {plan_cache!r:.60}")
    cfg = load_config(config)
    first, last = world_window(cfg, as_date(start, "start"), as_date(end, "end"), today)
    problem = None if seed is None else seed_problem(seed)
    if problem:
        raise ConfigError(f"seed: {problem}")
    chosen = cfg.faker_seed if seed is None else int(seed)  # a numpy integer too
    cache_dir = default_cache_dir() if plan_cache else None
    world, _ = load_or_build_world(cfg, chosen, day_number(first), day_number(last), cache_dir)
    return world


def pick_tables(tables: str | Sequence[str] | None, name: str = "tables") -> list[TableSpec]:
    """The specs of `tables` in lake order (all of them for None); unknown names are an error."""
    if tables is None:
        return list(TABLES)
    one = isinstance(tables, str) or not isinstance(tables, Iterable)
    wanted = [tables] if one else list(tables)
    if not all(isinstance(t, str) for t in wanted):
        raise ConfigError(f"{name}: expected a table name or a list of them, got {tables!r:.60}")
    unknown = [t for t in wanted if t not in TABLE_NAMES]
    if unknown:
        raise ConfigError(f"{name}: no table {unknown[0]!r} (tables: {', '.join(TABLE_NAMES)})")
    return [spec for spec in TABLES if spec.name in wanted]


def check_messiness(cfg: EcomConfig, level: str) -> RunLevel:
    """`level` with this config's rates, if it is a messiness level it can run, else a
    one-line error."""
    if level not in MESSINESS_LEVELS:
        raise ConfigError(
            f"messiness_level: must be one of {', '.join(MESSINESS_LEVELS)}, got {level!r}"
        )
    return RunLevel(level, resolve_level(cfg, level))  # the YAML's overrides are checked too


def lineage_of(batch_id: str | None, ingestion_ts: str | None) -> Lineage | None:
    """The lineage to stamp on rows, or None when neither value is given."""
    if batch_id is None and ingestion_ts is None:
        return None
    if batch_id is None or ingestion_ts is None:
        missing = "batch_id" if batch_id is None else "ingestion_ts"
        raise ConfigError(f"{missing}: needed too when lineage columns are asked for")
    if not is_ingestion_ts(ingestion_ts):
        raise ConfigError(f"ingestion_ts: {INGESTION_TS_RULE}, got {ingestion_ts!r}")
    if not isinstance(batch_id, str) or not batch_id:
        raise ConfigError(f"batch_id: expected non-empty text, got {batch_id!r}")
    return Lineage(batch_id, ingestion_ts)


def check_world(world: object) -> None:
    """`world` must be a plan (a config or a path in its place is the usual mistake)."""
    if not isinstance(world, WorldPlan):
        kind = type(world).__name__
        article = "an" if kind[0] in "AEIOUaeiou" else "a"
        got = f"{world!r:.60}" if isinstance(world, str | Path) else f"{article} {kind}"
        raise ConfigError(f"world: expected the WorldPlan of plan_world(config), got {got}")


def day_of(world: WorldPlan, day: DateLike, name: str = "day") -> int:
    """The day number of `day`, which must lie in the world window."""
    date = as_date(day, name)
    if date is None:
        raise ConfigError(f"{name}: expected a date like 2024-01-05, got None")
    number = day_number(date)
    if not world.start_day <= number <= world.end_day:
        raise ConfigError(
            f"{name}: {date} is outside the world window "
            f"{day_date(world.start_day)}..{day_date(world.end_day)}"
        )
    return number


def day_context(world: WorldPlan, day: int) -> DayContext:
    """Day `day` as a run over the whole world renders it: its own signup partition, and the
    product catalog on the world's first day."""
    signups = (day,) if np.isin(day, world.signup_days()) else ()
    return DayContext(world, day, signups, owns_catalog=day == world.start_day)


def render_day(
    world: WorldPlan,
    day: DateLike,
    tables: str | Sequence[str] | None = None,
    messiness_level: str = "none",
    *,
    batch_id: str | None = None,
    ingestion_ts: str | None = None,
) -> dict[str, pa.Table]:
    """Every table (or those named) of `day`: the rows and values `generate` writes for that
    day into `<table>/ingest_dt=<day>`, `customers/signup_dt=<day>` and, on the world's first
    day, every `product_catalog/category_key=…`; partitions in path order, a table without rows is
    empty. With `batch_id` and `ingestion_ts`, the lineage columns are appended as written
    (`source_file` is left out: it names a file).
    """
    check_world(world)
    number = day_of(world, day)
    specs = pick_tables(tables)
    level = check_messiness(world.config, messiness_level)
    lineage = lineage_of(batch_id, ingestion_ts)
    out: dict[str, pa.Table] = {}
    for table in render_tables(day_context(world, number), specs, level):
        rows = [part.rows for part in table.parts] or [table.rows.slice(0, 0)]
        data = pa.concat_tables(rows)
        if lineage is not None:
            data = apply_lineage(data, table.spec.name, table.spec.pk, lineage, None)
        out[table.spec.name] = data
    return out
