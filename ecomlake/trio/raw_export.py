"""`export-raw`: a run-generator dir -> lake partitions written exactly as `generate` writes them
(layout, lineage, manifests, `_SUCCESS`); item tables follow their parent's date, no row is lost
without being counted, and conflicting date options are an error. With `--format iceberg|delta`
each table's partitions are committed to its table once they are all written (one commit per
table, through the committer `generate` uses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.config import config_fingerprint
from ecomlake.config.load import load_config_text
from ecomlake.errors import ConfigError, OptionError, StorageError
from ecomlake.lake import (
    LakeLocation,
    ParquetOptions,
    PartitionManifest,
    PartitionSink,
    PartitionWrite,
    RunIdentity,
    partition_dir,
    read_bytes,
    resolve_target,
    write_bytes,
)
from ecomlake.lake.commit import writer_record
from ecomlake.lake.fs import exists
from ecomlake.lake.identity import CONFIG_FILE, LakeIdentity, write_identity
from ecomlake.lake.lock import LakeLock
from ecomlake.lake.runs import read_run_records, run_record_path
from ecomlake.lineage import Lineage
from ecomlake.messiness import RunLevel, level_from_record
from ecomlake.messiness.levels import fold_level
from ecomlake.render.registry import INGEST_KEY, TABLE_NAMES, TABLES, table_spec
from ecomlake.run.defect_log import commit_defect_log
from ecomlake.run.hooks import LoadedHook, hook_context, load_hooks, run_hooks
from ecomlake.run.prepare import check_lake, check_lineage_columns, level_for, lineage_for
from ecomlake.run.window import DayChoice
from ecomlake.tables import TableCommitter, TableOptions, commit_failure, open_tables
from ecomlake.tables.detect import check_format
from ecomlake.trio.raw_defects import CarriedLog, Placed, carry_log
from ecomlake.trio.raw_run import DEFECTS_FILE, LOOKUP_TABLES, file_sha256
from ecomlake.trio.raw_source import RawSource

log = logging.getLogger(__name__)

_OWNER = "ExportOptions"  # how errors name the options (the CLI shows its flags instead)
DEFAULT_TARGET_SIZE_MB = 16.0  # the older tool's default


@dataclass(frozen=True)
class ExportOptions:
    """export-raw flags; at most one way of choosing dates may be used."""

    source: str
    target: str = "output/raw"
    ingest_date: dt.date | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    days: int | None = None
    dates: tuple[dt.date, ...] = ()
    batch_id: str | None = None
    ingestion_ts: str | None = None
    target_size_mb: float = DEFAULT_TARGET_SIZE_MB
    tables: tuple[str, ...] = ()
    source_prefix: str | None = None
    lookups_from: str | None = None
    post_export_hooks: tuple[str, ...] = ()
    storage_options: dict = field(default_factory=dict)
    table_format: TableOptions = field(default_factory=TableOptions)  # --format iceberg|delta


@dataclass
class TableExport:
    """One table's counts; every row read is either written or counted as not exported."""

    table: str
    rows_read: int = 0
    rows_written: int = 0
    partitions: int = 0
    no_partition_value: int = 0  # null event date (or signup date / category)
    outside_dates: int = 0  # event date not among the selected dates
    orphans: int = 0  # item rows whose parent is not in the source


@dataclass
class ExportResult:
    """What an export wrote; `partitions == 0` means nothing was exported (exit 1)."""

    target: str
    batch_id: str
    dates: tuple[dt.date, ...] | None  # None: every date in the source
    tables: list[TableExport] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why it was not exported
    empty_dates: list[dt.date] = field(default_factory=list)  # selected, but no rows at all
    defect_log_partitions: int = 0  # a messy run's log, carried into the lake

    @property
    def partitions(self) -> int:
        return sum(t.partitions for t in self.tables)

    @property
    def rows_written(self) -> int:
        return sum(t.rows_written for t in self.tables)


@dataclass
class _Plan:
    """A validated export: source, tables, dates, lineage, target and hooks."""

    source: RawSource
    tables: list[str]
    skipped: dict[str, str]
    dates: tuple[dt.date, ...] | None
    lineage: Lineage
    sink: PartitionSink
    lake_identity: LakeIdentity
    loc: LakeLocation
    hooks: list[LoadedHook]
    config_yaml: bytes | None = None  # the run dir's config, carried into the lake
    table_commits: TableCommitter | None = None  # --format iceberg|delta
    carried: CarriedLog | None = None  # a messy run's defect log, placed and undone
    written: list[str] = field(default_factory=list)  # `table/key=value` of each commit
    identity_written: bool = False


def export_raw(options: ExportOptions) -> ExportResult:
    """Export the selected tables and dates of a run dir into the lake at `options.target`."""
    plan = _prepare(options)
    result = ExportResult(options.target, plan.lineage.batch_id, plan.dates, skipped=plan.skipped)
    if plan.dates is not None and not set(plan.dates) & set(plan.source.info.days):
        result.empty_dates = list(plan.dates)  # a stale run dir, say: nothing is written
        return result
    written_dates: set[str] = set()
    with LakeLock(plan.loc, plan.lineage.batch_id):
        # again: a run may have held the lock since _prepare and made another world's lake,
        # or written its days with another source_file column
        existing = check_lake(plan.loc, plan.lake_identity, overwrite=None)
        if existing is not None:
            records = read_run_records(plan.loc, existing)
            check_lineage_columns(_OWNER, records, plan.lineage, [], overwrite=None)
        if plan.carried is not None:
            result.defect_log_partitions = _commit_log(plan, plan.carried)
        for name in plan.tables:
            stats, values = _export_table(plan, name)
            result.tables.append(stats)
            if name not in LOOKUP_TABLES:
                written_dates.update(values)
        if plan.identity_written:
            _write_run_record(plan, result, sorted(written_dates))
    if plan.dates is not None:
        result.empty_dates = [d for d in plan.dates if d.isoformat() not in written_dates]
    for stats in result.tables:
        if stats.no_partition_value or stats.orphans:
            log.warning(
                "%s: %d row(s) without a partition value and %d without a parent in the source "
                "were not exported",
                stats.table,
                stats.no_partition_value,
                stats.orphans,
            )
    return result


def _prepare(options: ExportOptions) -> _Plan:
    """Every check that can fail on input, before anything is written."""
    dates = DayChoice(
        _OWNER,
        options.start_date,
        options.end_date,
        options.days,
        options.dates,
        options.ingest_date,
    ).alone()
    lineage = lineage_for(_OWNER, options.batch_id, options.ingestion_ts, options.source_prefix)
    parquet = ParquetOptions(target_size_mb=options.target_size_mb)
    lookups = Path(options.lookups_from) if options.lookups_from is not None else None
    source = RawSource(Path(options.source), lookups)
    tables, skipped = _select_tables(options.tables, source)
    for name in tables:
        source.check_partitionable(name)
    info = source.info
    config_yaml = _run_config(source)
    level = _source_level(source, config_yaml)
    loc = resolve_target(options.target, options.storage_options)
    lake_identity = LakeIdentity(
        seed=info.seed,
        config_fingerprint=fold_level(info.config_fingerprint, level.rates),
        generator_version=info.generator_version,
        world_start=info.world_start.isoformat(),
        world_end=info.world_end.isoformat(),
        messiness=level.record(),
    )
    try:  # export-raw never overwrites a lake (overwrite=None)
        existing = check_lake(loc, lake_identity, overwrite=None)
    except OptionError as exc:
        if "messiness_level" not in exc.fields:  # a flag export-raw does not have
            raise
        rule = (
            f"{{target}}: {loc.uri} holds a lake of another messiness level than this "
            f"{info.messiness_level} run; a lake has one level: export into another {{target}}"
        )
        raise OptionError(_OWNER, rule, "target") from None
    if existing is not None:
        check_format(loc, options.table_format)  # a new lake has no tables to look for
    hooks = load_hooks(options.post_export_hooks, _OWNER, "post_export_hooks")
    run_identity = RunIdentity(info.seed, lake_identity.config_fingerprint, info.generator_version)
    carried = None
    if level.rates is not None:
        place = partial(_placed_parts, source, dates)
        carried = carry_log(source, _logged_tables(source, tables), level, place)
    return _Plan(
        source,
        tables,
        skipped,
        dates,
        lineage,
        PartitionSink(loc, run_identity, PartitionWrite(lineage, parquet)),
        lake_identity,
        loc,
        hooks,
        config_yaml,
        open_tables(loc, options.table_format, _commit_summary(lineage, lake_identity)),
        carried,
    )


def _source_level(source: RawSource, config_yaml: bytes | None) -> RunLevel:
    """The run's messiness level with its rates (clean: nothing to carry). A messy run's
    own `_config.yaml` and `_defects.csv` must be there, and agree with its `_run.json` (the
    level's rates, the log's sha256): an edited or cut file would put wrong rates or a log
    that does not describe the rows into the lake."""
    info, log_file = source.info, source.dir / DEFECTS_FILE
    if not info.messy:
        if log_file.is_file():
            said = "has no _run.json" if info.inferred else f"is a {info.messiness_level} run"
            fix = (
                "a run-generator killed before it finished leaves such a dir: run it again"
                if info.inferred
                else "restore the run's own _run.json"
            )
            raise ConfigError(
                f"--source: {source.dir} {said}, yet holds a {DEFECTS_FILE}, which only a messy "
                f"run writes: {fix}"
            )
        return RunLevel()
    missing = [name for name in (CONFIG_FILE, DEFECTS_FILE) if not (source.dir / name).is_file()]
    if missing or config_yaml is None:
        what = " and ".join(missing) if missing else f"its own {CONFIG_FILE} (it was edited)"
        raise ConfigError(
            f"--source: {source.dir} is a {info.messiness_level} run without {what}; export-raw "
            "carries the run's level and defect log into the lake and needs both"
        )
    cfg = load_config_text(config_yaml.decode(), str(source.dir / CONFIG_FILE))
    rates = level_for(_OWNER, cfg, info.messiness_level, warn=False).rates  # rendered already
    if info.messiness is not None and level_from_record(info.messiness) != rates:
        raise ConfigError(
            f"--source: {source.dir}: the {info.messiness_level} rates of its {CONFIG_FILE} are "
            "not those its _run.json records: one of them was edited"
        )
    if info.defects_sha256 and file_sha256(log_file) != info.defects_sha256:
        raise ConfigError(
            f"--source: {log_file} is not the log its run wrote (its sha256 is not the one "
            "_run.json records): cut short or edited?"
        )
    for table, recorded in info.csv_sha256.items():  # the rows the log describes
        path = source.dir / f"{table}.csv"
        if path.is_file() and file_sha256(path) != recorded:
            raise ConfigError(
                f"--source: {path} is not the CSV its {info.messiness_level} run wrote (its "
                f"sha256 is not the one _run.json records), so {DEFECTS_FILE} does not describe "
                "its rows: cut short or edited?"
            )
    assert rates is not None  # a *_mess level
    # A run dir has no late rows (a defect of lake partitions), and the lake says so: verify
    # expects no late breaks, and a `generate` of the level, which adds late rows, is refused.
    return RunLevel(info.messiness_level, dataclasses.replace(rates, late_arrival=0.0))


def _write_run_record(plan: _Plan, result: ExportResult, dates: list[str]) -> None:
    """`_runs/<batch_id>.json`, as a generate run records itself, so the lake says where it came
    from (verify fails a lake whose records are gone); `exported` says what it wrote, and
    `days` the days it holds whole (see `_whole_days`)."""
    lake = plan.lake_identity
    body = {
        "batch_id": plan.lineage.batch_id,
        "generator_version": lake.generator_version,
        "config_fingerprint": lake.config_fingerprint,
        "seed": lake.seed,
        "ingestion_ts": plan.lineage.ingestion_ts,
        "world": {"start": lake.world_start, "end": lake.world_end, "reproducible": True},
        "write": writer_record(plan.lineage, plan.sink.default_write.parquet),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "days": _whole_days(plan, result),
        # what it wrote, for --repair and --deep to know these partitions' lineage even when
        # no day lists them (an export of some tables or dates)
        "committed": sorted(plan.written),
        "failures": [],
        "exported": {
            "source": plan.source.dir.name,
            "tables": [t.table for t in result.tables],
            "dates": dates,
            "partitions": result.partitions,
        },
    }
    rel = run_record_path(plan.lineage.batch_id)
    if exists(plan.loc, rel):
        body = _merged(body, read_bytes(plan.loc, rel))
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    write_bytes(plan.loc, rel, text.encode())


def _merged(body: dict, earlier: bytes) -> dict:
    """A re-export under the same batch id, written alike (world, timestamp, writer), keeps
    what the earlier one recorded: an export of one date after a whole one would otherwise
    replace its days, and verify would stop planning the lake. Otherwise it replaces it."""
    keys = ("seed", "config_fingerprint", "world", "ingestion_ts", "write")
    try:
        old = json.loads(earlier)
        if any(old[k] != body[k] for k in keys):
            return body
        days = {d["day"]: d for d in old["days"]} | {d["day"]: d for d in body["days"]}
        committed = set(old.get("committed", ())) | set(body["committed"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return body
    return {**body, "days": [days[d] for d in sorted(days)], "committed": sorted(committed)}


def _whole_days(plan: _Plan, result: ExportResult) -> list[dict]:
    """The days the export holds whole, as a generate run lists them, so that verify plans the
    lake: it checks every partition against the plan, names references to days the lake lacks
    instead of failing them, and a lake grown by export and generate together verifies. None
    when the export may hold part of the run's days or more: some tables or dates only (the
    dimensions are exported whole), rows it could not place, dimensions from --lookups-from,
    or a source whose world cannot be planned (no `_run.json`, or no config of its own)."""
    source = plan.source
    days = [d.isoformat() for d in source.info.days]
    whole = (
        not source.info.inferred
        and plan.config_yaml is not None
        and source.lookups_dir is None
        and set(plan.tables) == set(TABLE_NAMES)
        and (plan.dates is None or set(source.info.days) <= set(plan.dates))
        and not any(t.no_partition_value or t.orphans for t in result.tables)
    )
    if not whole or not days:
        return []
    committed: dict[str, list[str]] = {day: [] for day in days}
    for rel_dir in plan.written:
        key, _, value = rel_dir.split("/", 1)[1].partition("=")
        day = value if key == INGEST_KEY else days[0]  # dimensions: the first day, as generate
        if day not in committed:  # a row dated outside the run's days: not a run's own CSV
            return []
        committed[day].append(rel_dir)
    return [{"day": day, "committed": sorted(p), "kept": []} for day, p in committed.items()]


def _commit_summary(lineage: Lineage, lake: LakeIdentity) -> dict[str, str]:
    """What every table commit of the export records (as `generate`'s commits do)."""
    return {
        "batch_id": lineage.batch_id,
        "seed": str(lake.seed),
        "config_fingerprint": lake.config_fingerprint,
    }


def _run_config(source: RawSource) -> bytes | None:
    """The run dir's `_config.yaml` when it is the config its CSVs were made with, else None
    (a run dir of an older version, or one whose config was edited since)."""
    path = source.dir / CONFIG_FILE
    if not path.is_file():
        return None
    text = path.read_bytes()
    try:
        same = config_fingerprint(load_config_text(text.decode(), str(path)))
    except (ConfigError, UnicodeDecodeError):
        same = None
    if same != source.info.config_fingerprint:
        log.warning("%s is not the config of this run's CSVs: not copied to the lake", path)
        return None
    return text


def _select_tables(requested: Sequence[str], source: RawSource) -> tuple[list[str], dict[str, str]]:
    """Tables to export in lake order; without --table, those the source (or lookups) holds."""
    for name in requested:
        if name not in TABLE_NAMES:
            choices = ", ".join(TABLE_NAMES)
            rule = f"{{tables}}: unknown table {name!r} (choose from {choices})"
            raise OptionError(_OWNER, rule, "tables")
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    for spec in TABLES:
        if requested and spec.name not in requested:
            continue
        if not source.has(spec.name):
            if requested:
                rule = (
                    f"{{tables}}: {spec.name} was asked for but {source.csv_path(spec.name)} "
                    "does not exist"
                )
                raise OptionError(_OWNER, rule, "tables")
            skipped[spec.name] = f"no {spec.name}.csv in {source.csv_path(spec.name).parent}"
            continue
        chosen.append(spec.name)
    return chosen, skipped


def _run_hooks(plan: _Plan, table: str, manifest: PartitionManifest) -> None:
    run_hooks(plan.hooks, hook_context(plan.loc, table, manifest))


def _placed(
    source: RawSource, dates: tuple[dt.date, ...] | None, name: str
) -> tuple[TableExport, Placed]:
    """Read one CSV and place each row: its counts and (value, rows) per partition."""
    spec = table_spec(name)
    data = source.read(name)
    keys = source.partition_keys(spec, data)
    stats = TableExport(name, rows_read=data.num_rows, orphans=keys.orphans)
    keep = pc.is_valid(keys.values)
    placed = pc.sum(keep).as_py() or 0
    stats.no_partition_value = data.num_rows - placed - keys.orphans
    if dates is not None and name not in LOOKUP_TABLES:
        wanted = pa.array([d.isoformat() for d in dates], pa.string())
        keep = pc.and_(keep, pc.is_in(keys.values, value_set=wanted))
        stats.outside_dates = placed - (pc.sum(keep).as_py() or 0)
    return stats, _split(data.filter(keep), keys.values.filter(keep))


def _placed_parts(source: RawSource, dates: tuple[dt.date, ...] | None, name: str) -> Placed:
    return _placed(source, dates, name)[1]


def _logged_tables(source: RawSource, tables: list[str]) -> list[str]:
    """The tables whose log entries the export writes: the chosen ones and, when one of them
    is a day table, every day table of the source, as all of a day's share its `_defects`
    partition (a `--table orders` export would rewrite it with the orders' entries alone)."""
    days = [s.name for s in TABLES if s.partition_column is None and source.has(s.name)]
    day_chosen = any(name in days for name in tables)
    return [s.name for s in TABLES if s.name in tables or (day_chosen and s.name in days)]


def _own_lake(plan: _Plan) -> None:
    """Before the first partition: the lake's config and `_lake.json`."""
    if not plan.identity_written:
        if plan.config_yaml is not None:
            write_bytes(plan.loc, CONFIG_FILE, plan.config_yaml)
        write_identity(plan.loc, plan.lake_identity)
        plan.identity_written = True


def _commit_log(plan: _Plan, carried: CarriedLog) -> int:
    """The defect log's partitions, before the data they describe; how many."""
    committed: dict[str, list[tuple[str, str]]] = {}
    for log_at, value, entries in carried.log_partitions():
        _own_lake(plan)
        for table, manifest in commit_defect_log(
            plan.sink, log_at, value, entries, carried.level.name
        ):
            committed.setdefault(table, []).append((table, manifest))
            plan.written.append(partition_dir(table, log_at[1], value))
            if plan.hooks:  # as `generate` calls them for its log partitions
                _run_hooks(plan, table, PartitionManifest.from_json(manifest))
    if plan.table_commits is not None:
        for table, parts in committed.items():
            _commit_table(plan.table_commits, table, parts, plan.source.dir.name)
    return sum(len(parts) for parts in committed.values())


def _export_table(plan: _Plan, name: str) -> tuple[TableExport, list[str]]:
    """Write each partition of one table; returns its counts and the values."""
    spec = table_spec(name)
    stats, placed = _placed(plan.source, plan.dates, name)
    values = []
    committed: list[tuple[str, str]] = []
    event_col = spec.event_column_in(placed[0][1]) if placed else None
    for value, part in placed:
        _own_lake(plan)
        manifest = plan.sink.commit(
            name,
            spec.partition_key,
            value,
            part,
            pk_columns=spec.pk,
            event_date_column=event_col,
            messiness=plan.carried.truths[(name, value)] if plan.carried else None,
        )
        assert manifest is not None  # an export writes every partition
        stats.partitions += 1
        stats.rows_written += part.num_rows
        values.append(value)
        committed.append((name, manifest.to_json()))
        plan.written.append(partition_dir(name, spec.partition_key, value))
        if plan.hooks:
            _run_hooks(plan, name, manifest)
    if plan.table_commits is not None and committed:
        _commit_table(plan.table_commits, name, committed, plan.source.dir.name)
    return stats, values


def _commit_table(
    tables: TableCommitter, name: str, committed: list[tuple[str, str]], source: str
) -> None:
    """The table's exported partitions in one commit; a failure is one line naming the table."""
    try:
        tables.commit_partitions(committed, [], {"source": source})
    except Exception as exc:  # a catalog or store error
        raise StorageError(f"{name}: {commit_failure(tables.fmt.name, exc)}") from None


def _split(data: pa.Table, values: pa.Array) -> list[tuple[str, pa.Table]]:
    """(value, rows) per distinct value in value order; rows keep their source order."""
    if data.num_rows == 0:
        return []
    order = pc.sort_indices(values)  # stable: rows of one partition keep the CSV order
    data = data.take(order).combine_chunks()
    text = values.take(order).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate([[True], text[1:] != text[:-1]]))
    ends = np.append(starts[1:], len(text))
    return [(str(text[a]), data.slice(a, b - a)) for a, b in zip(starts, ends, strict=True)]
