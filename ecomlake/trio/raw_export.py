"""`export-raw`: a run-generator dir -> lake partitions written exactly as `generate` writes them
(layout, lineage, manifests, `_SUCCESS`); item tables follow their parent's date, no row is lost
without being counted, and conflicting date options are an error. With `--format iceberg|delta`
each table's partitions are committed to its table once they are all written (one commit per
table, through the committer `generate` uses).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    resolve_target,
    write_bytes,
)
from ecomlake.lake.commit import writer_record
from ecomlake.lake.identity import CONFIG_FILE, LakeIdentity, write_identity
from ecomlake.lake.lock import LakeLock
from ecomlake.lake.runs import run_record_path
from ecomlake.lineage import Lineage
from ecomlake.render.registry import TABLE_NAMES, TABLES, table_spec
from ecomlake.run.hooks import LoadedHook, hook_context, load_hooks, run_hooks
from ecomlake.run.prepare import check_lake, check_lineage_columns, lineage_for
from ecomlake.run.window import DayChoice
from ecomlake.tables import TableCommitter, TableOptions, commit_failure, open_tables
from ecomlake.tables.detect import check_format
from ecomlake.trio.raw_run import LOOKUP_TABLES, RunInfo
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
    identity_written: bool = False


def export_raw(options: ExportOptions) -> ExportResult:
    """Export the selected tables and dates of a run dir into the lake at `options.target`."""
    plan = _prepare(options)
    result = ExportResult(options.target, plan.lineage.batch_id, plan.dates, skipped=plan.skipped)
    written_dates: set[str] = set()
    with LakeLock(plan.loc, plan.lineage.batch_id):
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
    loc = resolve_target(options.target, options.storage_options)
    lake_identity = LakeIdentity(
        seed=info.seed,
        config_fingerprint=info.config_fingerprint,
        generator_version=info.generator_version,
        world_start=info.world_start.isoformat(),
        world_end=info.world_end.isoformat(),
    )
    # export-raw never overwrites a lake (overwrite=None)
    existing = check_lake(loc, lake_identity, overwrite=None)
    if existing is not None:
        check_format(loc, options.table_format)  # a new lake has no tables to look for
        check_lineage_columns(_OWNER, loc, existing, lineage, [], overwrite=None)
    hooks = load_hooks(options.post_export_hooks, _OWNER, "post_export_hooks")
    run_identity = RunIdentity(info.seed, info.config_fingerprint, info.generator_version)
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
        _run_config(source),
        open_tables(loc, options.table_format, _commit_summary(lineage, info)),
    )


def _write_run_record(plan: _Plan, result: ExportResult, dates: list[str]) -> None:
    """`_runs/<batch_id>.json`, as a generate run records itself, so the lake says where it came
    from (verify fails a lake whose records are gone). Its `days` stay empty: an export may hold
    some tables of some dates, so the plan's full days are not asked of it; `exported` says
    what it wrote."""
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
        "days": [],
        "failures": [],
        "exported": {
            "source": plan.source.dir.name,
            "tables": [t.table for t in result.tables],
            "dates": dates,
            "partitions": result.partitions,
        },
    }
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    write_bytes(plan.loc, run_record_path(plan.lineage.batch_id), text.encode())


def _commit_summary(lineage: Lineage, info: RunInfo) -> dict[str, str]:
    """What every table commit of the export records (as `generate`'s commits do)."""
    return {
        "batch_id": lineage.batch_id,
        "seed": str(info.seed),
        "config_fingerprint": info.config_fingerprint,
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


def _export_table(plan: _Plan, name: str) -> tuple[TableExport, list[str]]:
    """Read one CSV, place each row, write each partition; returns counts and the values."""
    spec = table_spec(name)
    data = plan.source.read(name)
    keys = plan.source.partition_keys(spec, data)
    stats = TableExport(name, rows_read=data.num_rows, orphans=keys.orphans)
    keep = pc.is_valid(keys.values)
    placed = pc.sum(keep).as_py() or 0
    stats.no_partition_value = data.num_rows - placed - keys.orphans
    if plan.dates is not None and name not in LOOKUP_TABLES:
        wanted = pa.array([d.isoformat() for d in plan.dates], pa.string())
        keep = pc.and_(keep, pc.is_in(keys.values, value_set=wanted))
        stats.outside_dates = placed - (pc.sum(keep).as_py() or 0)
    values = []
    committed: list[tuple[str, str]] = []
    event_col = spec.event_column_in(data)
    for value, part in _split(data.filter(keep), keys.values.filter(keep)):
        if not plan.identity_written:
            if plan.config_yaml is not None:
                write_bytes(plan.loc, CONFIG_FILE, plan.config_yaml)
            write_identity(plan.loc, plan.lake_identity)
            plan.identity_written = True
        manifest = plan.sink.commit(
            name,
            spec.partition_key,
            value,
            part,
            pk_columns=spec.pk,
            event_date_column=event_col,
        )
        assert manifest is not None  # an export writes every partition
        stats.partitions += 1
        stats.rows_written += part.num_rows
        values.append(value)
        committed.append((name, manifest.to_json()))
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
