"""A run-generator dir as export-raw reads it: which CSV feeds each table, and the partition
value of every row (event date, the parent's event date for item tables, signup date, category).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.errors import ConfigError
from ecomlake.messiness import DEFECT_SCHEMA
from ecomlake.messiness.formats import FORMAT_DRIFT, drift_schema, restore_formats
from ecomlake.render.registry import TableSpec, table_spec
from ecomlake.trio.csv_tables import csv_header, read_csv_table
from ecomlake.trio.raw_infer import run_info
from ecomlake.trio.raw_run import DEFECTS_FILE, LOOKUP_TABLES, RUN_FILE, RunInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DateRule:
    """How a table's rows find their partition: their own column, or via the parent's."""

    column: str  # the date column, or the link to the parent (its primary key)
    parent: str | None = None
    parent_date: str | None = None


# Items follow their parent's date (a fix of the older tool, which used cart_items.added_at and
# copied item tables whole into every date when the parent was not exported too).
PARTITION_RULES: dict[str, DateRule] = {
    "customers": DateRule("signup_date"),
    "product_catalog": DateRule("category"),
    "shopping_carts": DateRule("created_at"),
    "cart_items": DateRule("cart_id", "shopping_carts", "created_at"),
    "orders": DateRule("order_date"),
    "order_items": DateRule("order_id", "orders", "order_date"),
    "returns": DateRule("return_date"),
    "return_items": DateRule("return_id", "returns", "return_date"),
}


@dataclass
class PartitionKeys:
    """One partition value per row (null: no partition) and how many rows lack a parent."""

    values: pa.Array
    orphans: int = 0


class RawSource:
    """The `--source` run dir, with the dimensions taken from `--lookups-from` when given."""

    def __init__(self, source: Path, lookups_from: Path | None = None) -> None:
        if not source.is_dir():
            raise ConfigError(f"--source: {source} is not a directory")
        self.dir = source
        self.info: RunInfo = run_info(source, "--source")
        self.lookups_dir = lookups_from
        self._logs: dict[Path, pa.Table] = {}  # a run dir's `_defects.csv`, read once
        self._warned: set[str] = set()  # the tables whose row count was warned of
        if lookups_from is not None:
            _check_lookups(lookups_from, self.info)

    def csv_path(self, table: str) -> Path:
        """Where `table`'s CSV would be (lookups dir for dimensions when given)."""
        base = self.lookups_dir if table in LOOKUP_TABLES and self.lookups_dir else self.dir
        return base / f"{table}.csv"

    def has(self, table: str) -> bool:
        return self.csv_path(table).is_file()

    def flag_for(self, table: str) -> str:
        return "--lookups-from" if table in LOOKUP_TABLES and self.lookups_dir else "--source"

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """The whole CSV (or `columns`) with the lake's column types.

        A messy run's drifted dates and amounts are put back from its `_defects.csv` first.
        """
        spec, path, flag = table_spec(table), self.csv_path(table), self.flag_for(table)
        drift = self._log(table, pc.equal)
        if drift.num_rows == 0:
            try:
                data = read_csv_table(path, spec.schema, flag, columns)
            except ConfigError as exc:
                if not self.info.messy:  # no drifted values: the file itself is damaged
                    raise
                state = "cut short" if (path.parent / DEFECTS_FILE).is_file() else "missing"
                hint = (
                    f"; a messy run's drifted values are read back by its {DEFECTS_FILE}: {state}?"
                )
                raise ConfigError(f"{exc}{hint}") from None
            return self._whole(table, path, flag, data)
        wanted = list(columns) if columns is not None else csv_header(path, flag)
        needed = wanted + [c for c in spec.pk if c not in wanted]
        text = read_csv_table(path, drift_schema(table, spec.schema), flag, needed)
        try:
            data = restore_formats(text, table, drift, spec.schema).select(wanted)
        except (pa.ArrowInvalid, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0]
            raise ConfigError(
                f"{flag}: {path}: a drifted value has no format_drift row in "
                f"{path.parent / DEFECTS_FILE} ({reason}); is that file cut short?"
            ) from None
        return self._whole(table, path, flag, data)

    def defects(self, table: str) -> pa.Table:
        """`table`'s entries of the defect log of the dir it is read from, format drift aside
        (`read` puts drifted values back, so the lake's rows never hold them)."""
        return self._log(table, pc.not_equal)

    def log_table_names(self, log_dir: Path, flag: str) -> list[str]:
        """The table names the `_defects.csv` of `log_dir` uses."""
        return pc.unique(self._read_log(log_dir, flag).column("table_name")).to_pylist()

    def _read_log(self, log_dir: Path, flag: str) -> pa.Table:
        if log_dir not in self._logs:
            self._logs[log_dir] = _defect_log(log_dir / DEFECTS_FILE, flag)
        return self._logs[log_dir]

    def _log(self, table: str, kind: Callable) -> pa.Table:
        """`table`'s entries of its dir's `_defects.csv` whose type is `kind` (pc.equal or
        pc.not_equal) to format drift; none for a clean run."""
        path = self.csv_path(table)
        entries = self._read_log(path.parent, self.flag_for(table))
        mine = pc.and_(
            pc.equal(entries.column("table_name"), table),
            kind(entries.column("defect_type"), FORMAT_DRIFT),
        )
        return entries.filter(mine)

    def _whole(self, table: str, path: Path, flag: str, data: pa.Table) -> pa.Table:
        """`data`, with a warning (once a table) if it has other rows than `_run.json` says its
        run wrote: a CSV cut at a line end parses, and its lost rows went without a word. (A
        hand-edited CSV is read as it is.)"""
        expected = None if self.info.inferred else self.info.rows.get(table)
        off = path.parent == self.dir and expected not in (None, data.num_rows)
        if off and table not in self._warned:
            self._warned.add(table)
            log.warning(
                "%s: %s has %d rows and %s says its run wrote %d: the file was cut short or edited",
                flag,
                path,
                data.num_rows,
                RUN_FILE,
                expected,
            )
        return data

    def check_partitionable(self, table: str) -> None:
        """Fail before any write if the columns that place a row are not in the CSVs."""
        rule = PARTITION_RULES[table]
        self._require(table, rule.column)
        if rule.parent is not None:
            if not self.has(rule.parent):
                raise ConfigError(
                    f"--source: {table}.csv needs {rule.parent}.csv to date its rows by their "
                    f"parent, and {self.dir} has none"
                )
            self._require(rule.parent, rule.column)
            self._require(rule.parent, rule.parent_date)

    def _require(self, table: str, column: str) -> None:
        path = self.csv_path(table)
        if column not in csv_header(path, self.flag_for(table)):
            raise ConfigError(
                f"{self.flag_for(table)}: {path} has no {column!r} column, which export-raw "
                f"needs to partition {table}"
            )

    def partition_keys(self, spec: TableSpec, data: pa.Table) -> PartitionKeys:
        """Partition value of each row as text (YYYY-MM-DD or the category); null if none."""
        rule = PARTITION_RULES[spec.name]
        if rule.parent is None:
            return PartitionKeys(_as_text(data.column(rule.column)))
        parent = self.read(rule.parent, [rule.column, rule.parent_date])
        links = data.column(rule.column)
        index = pc.index_in(links, value_set=parent.column(rule.column))
        orphans = pc.sum(pc.and_(pc.is_null(index), pc.is_valid(links))).as_py() or 0
        dates = parent.column(rule.parent_date).take(index)
        return PartitionKeys(_as_text(dates), orphans)


def _defect_log(path: Path, flag: str) -> pa.Table:
    """A run's `_defects.csv` (none for a clean run)."""
    if not path.is_file():
        return DEFECT_SCHEMA.empty_table()
    return read_csv_table(path, DEFECT_SCHEMA, flag)


def _as_text(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Dates and timestamps as YYYY-MM-DD, strings as they are; nulls stay null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_timestamp(values.type):
        values = pc.cast(values, pa.date32())
    return pc.cast(values, pa.string())


def _check_lookups(directory: Path, info: RunInfo) -> None:
    """--lookups-from must hold the dimensions of the same world as the source."""
    if not directory.is_dir():
        raise ConfigError(f"--lookups-from: {directory} is not a directory")
    present = [name for name in LOOKUP_TABLES if (directory / f"{name}.csv").is_file()]
    if not present:
        raise ConfigError(
            f"--lookups-from: {directory} has no customers.csv or product_catalog.csv"
        )
    other = run_info(directory, "--lookups-from")
    if (other.messy or info.messy) and (other.messiness_level, other.messiness) != (
        info.messiness_level,
        info.messiness,
    ):
        raise ConfigError(
            f"--lookups-from: {directory} is a {other.messiness_level} run and --source a "
            f"{info.messiness_level} one (or one of other rates); a lake has one level, its "
            "dimensions included: take them from a run of the source's level"
        )
    if other.inferred or info.inferred:  # a dir without _run.json cannot say its world
        return
    same = (other.config_fingerprint, other.seed, other.world_start, other.world_end) == (
        info.config_fingerprint,
        info.seed,
        info.world_start,
        info.world_end,
    )
    if not same:
        raise ConfigError(
            f"--lookups-from: {directory} belongs to another world than --source (seed "
            f"{other.seed}, config {other.config_fingerprint[:12]}, {other.world_start}.."
            f"{other.world_end}; source: seed {info.seed}, config "
            f"{info.config_fingerprint[:12]}, {info.world_start}..{info.world_end})"
        )
