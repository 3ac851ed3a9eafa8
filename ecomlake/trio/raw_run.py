"""`run-generator`: render days through the engine into `<artifact-root>/raw_run_<UTC>[_N]/`:
one CSV per table (exactly the rows `generate` writes for those days), `load_data.sql`, `_run.json`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ecomlake import __version__
from ecomlake.config import EcomConfig, config_fingerprint
from ecomlake.errors import ConfigError
from ecomlake.lake.identity import CONFIG_FILE, config_yaml
from ecomlake.messiness import DEFECT_SCHEMA, RunLevel
from ecomlake.messiness.day import render_tables
from ecomlake.messiness.formats import drift_formats, drift_schema
from ecomlake.plan.cache import default_cache_dir, load_or_build_world
from ecomlake.plan.calendar import day_number
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TABLES, TableSpec, output_columns
from ecomlake.run.days import assign_tasks
from ecomlake.run.fieldcheck import FieldCheck
from ecomlake.run.prepare import level_for
from ecomlake.run.window import DayChoice, Window
from ecomlake.trio.csv_tables import CsvSink
from ecomlake.trio.sqlite_script import load_data_sql

log = logging.getLogger(__name__)

_OWNER = "RawRunOptions"  # how errors name the options (the CLI shows its flags instead)
DEFECTS_FILE = "_defects.csv"
RUN_FILE = "_run.json"
SQL_FILE = "load_data.sql"
RUN_DIR_PREFIX = "raw_run_"
LOOKUP_TABLES = ("customers", "product_catalog")


@dataclass(frozen=True)
class RawRunOptions:
    """run-generator flags that are not in the YAML."""

    artifact_root: str = "artifacts"
    messiness_level: str = "baseline"
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    seed: int | None = None
    load_lookups_from: str | None = None
    id_state_file: str | None = None
    generate_lookups_only: bool = False
    generator_src: str | None = None
    config_path: str | None = None  # recorded in _run.json
    plan_cache: bool = True  # reuse a stored world plan (plan/cache.py)
    today: dt.date | None = None  # anchor of unpinned windows; defaults to the UTC date
    now: dt.datetime | None = None  # names the run dir; defaults to the UTC clock

    def __post_init__(self) -> None:
        """The seed and dates as GenerateOptions checks them (run/fieldcheck.py)."""
        check = FieldCheck(_OWNER, self)
        check.seed("seed")
        check.date("start_date", "end_date", "today")


@dataclass
class RawRunResult:
    """Where the run went and what it holds."""

    run_dir: Path
    world_start: dt.date
    world_end: dt.date
    days: list[dt.date]
    seed: int
    config_fingerprint: str
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInfo:
    """A run dir's `_run.json`: what export-raw and --load-lookups-from rely on."""

    path: Path
    config_fingerprint: str
    seed: int
    generator_version: str
    world_start: dt.date
    world_end: dt.date
    days: tuple[dt.date, ...]
    rows: dict[str, int]
    inferred: bool = False  # no _run.json: read from the CSVs (raw_infer.py)
    messiness_level: str = "none"  # a *_mess run's defects are in its _defects.csv
    messiness: dict | None = None  # its rates; None for a clean run or an older run dir
    defects_sha256: str | None = None  # of its `_defects.csv`; None: clean, or older
    csv_sha256: dict[str, str] = field(default_factory=dict)  # table -> of its CSV; {}: older

    @property
    def messy(self) -> bool:
        """A *_mess run: drifted values to read back, a defect log to carry into a lake."""
        return self.messiness_level.endswith("_mess")


def read_run_info(directory: Path, flag: str) -> RunInfo:
    """Parse `<directory>/_run.json`; anything missing or malformed is a one-line ConfigError."""
    path = directory / RUN_FILE
    if not path.is_file():
        raise ConfigError(
            f"{flag}: {directory} has no {RUN_FILE} (not an ecomlake run-generator dir)"
        )
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return RunInfo(
            path=directory,
            config_fingerprint=str(body["config_fingerprint"]),
            seed=int(body["seed"]),
            generator_version=str(body["generator_version"]),
            world_start=dt.date.fromisoformat(body["world"]["start"]),
            world_end=dt.date.fromisoformat(body["world"]["end"]),
            days=tuple(dt.date.fromisoformat(d) for d in body["days"]),
            rows={str(k): int(v) for k, v in body["rows"].items()},
            messiness_level=str(body.get("messiness_level", "none")),
            messiness=_object_or_none(body.get("messiness"), "messiness"),
            defects_sha256=body.get("defects_sha256"),
            csv_sha256={str(k): str(v) for k, v in (body.get("csv_sha256") or {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{flag}: {path} is unreadable ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class _Prepared:
    """A validated run: window, days, tables and their columns."""

    seed: int
    fingerprint: str
    start: dt.date
    end: dt.date
    reproducible: bool
    days: list[dt.date]
    specs: tuple[TableSpec, ...]
    columns: dict[str, tuple[str, ...]]
    level: RunLevel


def run_generator(cfg: EcomConfig, options: RawRunOptions) -> RawRunResult:
    """Validate every input, then write the run dir; a failed run leaves no dir behind."""
    prep = _prepare(cfg, options)
    root = Path(options.artifact_root)
    root_existed = root.exists()
    run_dir = create_run_dir(root, options.now or dt.datetime.now(dt.UTC))
    try:
        cache_dir = default_cache_dir() if options.plan_cache else None
        first, last = day_number(prep.start), day_number(prep.end)
        world, _ = load_or_build_world(cfg, prep.seed, first, last, cache_dir)
        rows = _write_csvs(world, prep, run_dir)
        files = {name: (run_dir / f"{name}.csv", prep.columns[name]) for name in rows}
        messy = prep.level.name if prep.level.rates is not None else ""
        (run_dir / SQL_FILE).write_text(load_data_sql(cfg, files, messy), encoding="utf-8")
        _write_run_file(run_dir, prep, rows, options)
        (run_dir / CONFIG_FILE).write_bytes(config_yaml(cfg))  # export-raw carries it to the lake
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        if not root_existed and root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        raise
    log.info("raw run %s: %d day(s), %s", run_dir, len(prep.days), rows)
    return RawRunResult(run_dir, prep.start, prep.end, prep.days, prep.seed, prep.fingerprint, rows)


def create_run_dir(root: Path, now: dt.datetime) -> Path:
    """`root/raw_run_<UTC second>`, or `_2`, `_3`… when a run already took that second."""
    root.mkdir(parents=True, exist_ok=True)
    base = RUN_DIR_PREFIX + now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in itertools.count(1):
        path = root / (base if n == 1 else f"{base}_{n}")
        try:
            path.mkdir()  # exist_ok=False: atomic, so concurrent runs never share a dir
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")


def _prepare(cfg: EcomConfig, options: RawRunOptions) -> _Prepared:
    """Every check that can fail on input, before anything is written."""
    level = level_for(_OWNER, cfg, options.messiness_level.lower())
    today = options.today or dt.datetime.now(dt.UTC).date()
    window = DayChoice(_OWNER, options.start_date, options.end_date).window(cfg, today)
    start, end, reproducible, days = window.start, window.end, window.reproducible, window.days
    seed = cfg.faker_seed if options.seed is None else options.seed
    fingerprint = config_fingerprint(cfg)
    specs = tuple(s for s in TABLES if s.name in LOOKUP_TABLES or not options.generate_lookups_only)
    columns = {spec.name: output_columns(cfg, spec) for spec in TABLES}
    _check_artifact_root(options.artifact_root)
    _check_id_state_file(options.id_state_file)
    if options.load_lookups_from is not None:
        _check_lookups(Path(options.load_lookups_from), fingerprint, seed, start, end, level)
    if options.generator_src is not None:
        log.warning(
            "--generator-src %s is ignored: the engine is built in (no external generator)",
            options.generator_src,
        )
    pinned = cfg.parameters.pinned_window() is not None
    _warn_about_window(window, pinned, options)
    return _Prepared(seed, fingerprint, start, end, reproducible, days, specs, columns, level)


def _warn_about_window(window: Window, pinned: bool, options: RawRunOptions) -> None:
    """Say when runs of this config will not line up (unpinned windows, mid-world ranges)."""
    start, days = window.start, window.days
    if not window.warn_if_unreproducible() and not pinned:
        log.warning(
            "the config pins no window, so --start-date/--end-date set the whole world "
            "(%s..%s): runs for other ranges are other worlds, with colliding IDs; pin "
            "parameters.start_date/end_date to split one world into chunks",
            start,
            window.end,
        )
    if days[0] > start and not options.generate_lookups_only:
        log.warning(
            "the run starts after the world start (%s): returns of orders placed before %s "
            "reference orders that are not in this run (load_data.sql's foreign keys reject them)",
            start,
            days[0],
        )


def _check_artifact_root(text: str) -> None:
    if not text.strip():  # Path("") is the current folder
        raise ConfigError("--artifact-root: must not be empty")
    root = Path(text)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--artifact-root: {root} exists and is not a directory")


def _check_id_state_file(path_text: str | None) -> None:
    """Accepted for old scripts; IDs are deterministic, so it is only read, never written."""
    if path_text is None:
        return
    path = Path(path_text)
    if not path.exists():
        return
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--id-state-file: {path} is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ConfigError(f"--id-state-file: {path} must hold a JSON object")
    log.info("--id-state-file %s: not needed (IDs are positions in the world plan)", path)


def _check_lookups(
    directory: Path, fingerprint: str, seed: int, start: dt.date, end: dt.date, level: RunLevel
) -> None:
    """The lookups must be those this run re-derives: same config, seed, world window and
    messiness (a messy run dirties its dimensions too)."""
    flag = "--load-lookups-from"
    if not directory.is_dir():
        raise ConfigError(f"{flag}: {directory} is not a directory")
    missing = [f"{name}.csv" for name in LOOKUP_TABLES if not (directory / f"{name}.csv").is_file()]
    if missing:
        raise ConfigError(f"{flag}: {directory} has no {' or '.join(missing)}")
    info = read_run_info(directory, flag)
    if (info.config_fingerprint, info.seed) != (fingerprint, seed):
        raise ConfigError(
            f"{flag}: {directory} was made with another config or seed (seed {info.seed}, "
            f"config {info.config_fingerprint[:12]}; this run: seed {seed}, config "
            f"{fingerprint[:12]})"
        )
    if (info.world_start, info.world_end) != (start, end):
        raise ConfigError(
            f"{flag}: {directory} was made for the world {info.world_start}..{info.world_end}, "
            f"this run's world is {start}..{end} (pin parameters.start_date/end_date)"
        )
    mine = level.name if level.rates is not None else "clean"
    theirs = info.messiness_level if info.messy else "clean"
    if (theirs, info.messiness if info.messy else None) != (mine, level.record()):
        raise ConfigError(
            f"{flag}: {directory} is a {theirs} run and this one {mine} (or one of other "
            "rates); a messy run dirties its dimensions too: take them from a run of this level"
        )


def _write_csvs(world: WorldPlan, prep: _Prepared, run_dir: Path) -> dict[str, int]:
    """Render each day's tables in day order, appending to one CSV per table; rows per table.

    At a messy level the tables are dirtied as `generate` dirties them (late arrival aside: it
    is a defect of lake partitions), dates and money drift in format (the CSVs are text), and
    every changed cell is appended to `_defects.csv` (not a table: it stays out of the rows and
    load_data.sql).
    """
    mess = prep.level.rates
    sinks: dict[str, CsvSink] = {}
    defects = CsvSink(run_dir / DEFECTS_FILE, DEFECT_SCHEMA) if mess is not None else None
    try:
        for spec in prep.specs:
            schema = pa.schema([spec.schema.field(c) for c in prep.columns[spec.name]])
            if mess is not None:
                schema = drift_schema(spec.name, schema)
            sinks[spec.name] = CsvSink(run_dir / f"{spec.name}.csv", schema)
        for task in assign_tasks(prep.days, world.signup_days()):
            ctx = DayContext(world, task.day, task.signup_days, task.owns_catalog)
            for table in render_tables(ctx, prep.specs, prep.level, lake=False):
                data, found = table.rows, table.log
                if mess is not None and found is not None:
                    data, drifted = drift_formats(ctx, table.spec.name, data, mess, found)
                    found = pa.concat_tables([found, drifted])
                sinks[table.spec.name].write(data)
                if defects is not None and found is not None:
                    defects.write(found)
    finally:
        for sink in [*sinks.values(), *([defects] if defects is not None else [])]:
            sink.close()
    return {name: sink.rows for name, sink in sinks.items()}


def _write_run_file(
    run_dir: Path, prep: _Prepared, rows: dict[str, int], options: RawRunOptions
) -> None:
    def absolute(path: str | None) -> str | None:
        return None if path is None else str(Path(path).resolve())

    body = {
        "config_path": absolute(options.config_path),
        "config_fingerprint": prep.fingerprint,
        "seed": prep.seed,
        "generator_version": __version__,
        "messiness_level": prep.level.name,
        "messiness": prep.level.record(),  # the rates (the YAML's overrides applied)
        "defects_sha256": file_sha256(run_dir / DEFECTS_FILE),  # export-raw checks the log with it
        "lookups_only": options.generate_lookups_only,
        "load_lookups_from": absolute(options.load_lookups_from),
        "world": {
            "start": prep.start.isoformat(),
            "end": prep.end.isoformat(),
            "reproducible": prep.reproducible,
        },
        "days": [d.isoformat() for d in prep.days],
        "rows": rows,
        "files": sorted([f"{name}.csv" for name in rows] + [SQL_FILE]),
        # export-raw of a messy run checks them: its log describes these very rows
        "csv_sha256": {name: file_sha256(run_dir / f"{name}.csv") for name in sorted(rows)},
    }
    _write_json(run_dir / RUN_FILE, body)


def _object_or_none(value: object, key: str) -> dict | None:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"{key} is not an object")
    return value


def file_sha256(path: Path) -> str | None:
    """sha256 hex of a file, or None when there is none (a clean run writes no log)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _write_json(path: Path, body: dict) -> None:
    path.write_text(json.dumps(body, sort_keys=True, indent=2) + "\n", encoding="utf-8")
