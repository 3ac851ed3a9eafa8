"""A messy run dir's defect log, carried into the lake `export-raw` writes, so the lake is a
messy lake as `generate --messiness-level` writes one: each entry goes to the partition its
row is exported to, each data partition's manifest records its clean rows (the rows with their
entries undone) and the log partitions are committed before the data they describe.

Everything is worked out before anything is written: a log that names a row the CSVs lack, a
copy that is not there or a dirty value a cell does not hold (a log cut short or edited) is
refused with one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.errors import ConfigError
from ecomlake.messiness import DEFECT_SCHEMA, RunLevel, undo_defects
from ecomlake.messiness.log import log_table_for, pk_text
from ecomlake.messiness.truth import partition_truth, row_hashes
from ecomlake.render.registry import TABLE_NAMES, TABLES, table_spec
from ecomlake.trio.raw_run import DEFECTS_FILE
from ecomlake.trio.raw_source import RawSource

Placed = list[tuple[str, pa.Table]]  # (partition value, rows) of one table, as exported
_NOT_LATE = np.empty(0, dtype=np.int64)  # a run dir has no late rows (a lake-partition defect)


@dataclass
class CarriedLog:
    """The log entries and clean truth of every partition an export writes."""

    level: RunLevel
    entries: dict[tuple[str, str], pa.Table] = field(default_factory=dict)  # (table, value)
    truths: dict[tuple[str, str], dict] = field(default_factory=dict)  # manifest `messiness`

    def log_partitions(self) -> Iterator[tuple[tuple[str, str], str, pa.Table]]:
        """((log table, key), value, entries) of each log partition with entries, in table
        and value order; a day's transactional tables share one `_defects` partition."""
        order = {spec.name: i for i, spec in enumerate(TABLES)}
        grouped: dict[tuple[tuple[str, str], str], list[pa.Table]] = {}
        for (table, value), entries in sorted(
            self.entries.items(), key=lambda e: (order[e[0][0]], e[0][1])
        ):
            if entries.num_rows:
                grouped.setdefault((log_table_for(table_spec(table)), value), []).append(entries)
        for (log_at, value), pieces in sorted(grouped.items()):
            yield log_at, value, pa.concat_tables(pieces)


def carry_log(
    source: RawSource, tables: list[str], level: RunLevel, place: Callable[[str], Placed]
) -> CarriedLog:
    """Each exported partition's entries and truth; `place(table)` gives its partitions."""
    carried = CarriedLog(level)
    _check_table_names(source)
    for name in tables:
        entries = source.defects(name)
        placed = place(name)
        homes = _homes(entries, placed, table_spec(name).pk)
        if homes.null_count:  # rows not exported (other dates); each must be in the CSV
            _check_rows_exist(source, name, entries.filter(pc.is_null(homes)))
        for value, rows in placed:
            mine = entries.filter(pc.fill_null(pc.equal(homes, value), False))
            carried.entries[(name, value)] = _in_partition(mine, name, value)
            clean = _undo(source, name, value, rows, mine)
            truth = partition_truth(level.name, name, row_hashes(clean), mine, _NOT_LATE)
            carried.truths[(name, value)] = truth
    return carried


def _check_table_names(source: RawSource) -> None:
    """Every entry names one of the eight tables (a log of something else is not this run's)."""
    dirs = {source.csv_path(name).parent: source.flag_for(name) for name in TABLE_NAMES}
    for log_dir, flag in dirs.items():
        unknown = sorted(set(source.log_table_names(log_dir, flag)) - set(TABLE_NAMES))
        if unknown:
            raise ConfigError(
                f"{flag}: {log_dir / DEFECTS_FILE} names table(s) {unknown} that a run does not "
                "write; was it edited?"
            )


def _check_rows_exist(source: RawSource, table: str, entries: pa.Table) -> None:
    """An entry whose row is in no partition of the export must still be a row of the CSV."""
    pk = table_spec(table).pk
    keys = pk_text(source.read(table, list(pk)), pk)
    absent = pc.invert(pc.is_in(entries.column("pk_value"), value_set=keys))
    if pc.any(absent).as_py():
        key = entries.column("pk_value").filter(absent)[0].as_py()
        raise ConfigError(
            f"{source.flag_for(table)}: {source.csv_path(table).parent / DEFECTS_FILE} names "
            f"{table} row {key}, which {source.csv_path(table).name} does not hold; was either "
            "file cut short or edited?"
        )


def _homes(entries: pa.Table, placed: Placed, pk: tuple[str, ...]) -> pa.Array:
    """The partition value of each entry's row; null where the row is not exported."""
    if not placed or entries.num_rows == 0:
        return pa.nulls(entries.num_rows, pa.string())
    keys = pa.concat_arrays([pk_text(rows, pk) for _, rows in placed])
    values = pa.array(np.repeat([v for v, _ in placed], [r.num_rows for _, r in placed]))
    return values.take(pc.index_in(entries.column("pk_value"), value_set=keys))


def _in_partition(entries: pa.Table, table: str, value: str) -> pa.Table:
    """The entries naming the lake partition they are in (a run dir's name the day they were
    rendered on, which is the same partition for every row a run writes)."""
    name = f"{table_spec(table).partition_key}={value}"
    at = DEFECT_SCHEMA.get_field_index("partition")
    placed = entries.set_column(at, "partition", pa.repeat(pa.scalar(name), entries.num_rows))
    return placed.cast(DEFECT_SCHEMA)  # the log's keys are not null, as `generate` writes them


def _undo(source: RawSource, table: str, value: str, rows: pa.Table, entries: pa.Table) -> pa.Table:
    """The partition's clean rows; a log that does not fit its rows is one line."""
    try:
        return undo_defects(rows, entries, table, strict=True)
    except (KeyError, ValueError, pa.ArrowInvalid) as exc:  # a value not of the column's type
        log_file = source.csv_path(table).parent / DEFECTS_FILE
        reason = str(exc.args[0] if exc.args else exc).strip().splitlines()[0]
        raise ConfigError(
            f"{source.flag_for(table)}: {log_file} does not match {source.csv_path(table).name} "
            f"in {table_spec(table).partition_key}={value} ({reason}); was either file "
            "cut short or edited?"
        ) from None
