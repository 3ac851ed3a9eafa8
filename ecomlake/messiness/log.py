"""The defect log: one row per changed cell, with its clean and dirty value as text.

A transactional day's log is the `_defects` table (`ingest_dt=<day>`); a dimension partition's
log mirrors it in `_defects_<table>/<key>=<value>`, so each log has the owner of its data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.registry import CELL_DEFECT_NAMES
from ecomlake.render.columns import money_as_float
from ecomlake.render.registry import INGEST_KEY, TABLES, TableSpec

DEFECTS_TABLE = "_defects"
COUNTS_NAME = "_DEFECT_COUNTS.json"
PK_SEPARATOR = "|"
DEFECT_PK = ("table_name", "pk_value", "column_name", "defect_type")
TIMESTAMP_TEXT = "%Y-%m-%dT%H:%M:%S"  # Arrow prints the 6 fractional digits of timestamp[us]

DEFECT_TYPES = CELL_DEFECT_NAMES  # a cell hit by several lists them joined by '+'

DEFECT_SCHEMA = pa.schema(
    [
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("partition", pa.string(), nullable=False),
        pa.field("pk_value", pa.string(), nullable=False),
        pa.field("column_name", pa.string(), nullable=False),
        pa.field("defect_type", pa.string(), nullable=False),
        pa.field("clean_value", pa.string()),
        pa.field("dirty_value", pa.string()),
    ]
)


def log_table_for(spec: TableSpec) -> tuple[str, str]:
    """(log table, partition key) that holds the defects of `spec`'s partitions."""
    if spec.partition_column is None:
        return DEFECTS_TABLE, INGEST_KEY
    return f"{DEFECTS_TABLE}_{spec.name}", spec.partition_key


def defect_log_tables() -> list[str]:
    """Every folder a defect log may live in (what `--overwrite` clears with the data)."""
    return sorted({log_table_for(spec)[0] for spec in TABLES})


def as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Values as the log writes them: ISO timestamps with 'T', `true`/`false`, plain numbers
    (money as the shortest float text, e.g. `12.5`, as the CSVs spell it)."""
    if pa.types.is_timestamp(values.type):
        return pc.strftime(values, format=TIMESTAMP_TEXT)
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_decimal(values.type):
        values = money_as_float(values)
    return pc.cast(values, pa.string())


def from_text(text: pa.Array | pa.ChunkedArray, kind: pa.DataType) -> pa.Array:
    """The inverse of `as_text` for the column types the defects touch."""
    return text if pa.types.is_string(kind) else pc.cast(text, kind)


def pk_text(data: pa.Table, pk_columns: Sequence[str]) -> pa.Array:
    """The primary key as text; a composite key's parts are joined by '|', in key order."""
    parts = [as_text(data.column(name).combine_chunks()) for name in pk_columns]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, PK_SEPARATOR)


def partition_text(spec: TableSpec, data: pa.Table, day_iso: str) -> pa.Array:
    """`<key>=<value>` of the data partition each row is written to."""
    if spec.partition_column is None:
        return pa.repeat(pa.scalar(f"{INGEST_KEY}={day_iso}"), data.num_rows)
    values = as_text(data.column(spec.partition_column).combine_chunks())
    return pc.binary_join_element_wise(f"{spec.partition_key}=", values, "")


def defect_names(bits: np.ndarray) -> pa.Array:
    """'+'-joined defect names of each cell's bit set (bit i = DEFECT_TYPES[i])."""
    unique, inverse = np.unique(bits, return_inverse=True)
    names = [
        "+".join(t for i, t in enumerate(DEFECT_TYPES) if int(u) >> i & 1) for u in unique
    ]  # one entry per distinct combination, not per row
    return pa.array(names, pa.string()).take(pa.array(inverse.astype(np.int64)))


def log_rows(
    spec: TableSpec,
    day_iso: str,
    rows: pa.Table,
    column: str,
    defect_type: str | pa.Array,
    clean: pa.Array,
    dirty: pa.Array,
) -> pa.Table:
    """Log rows for `rows` (one per row, in order): the column, defect and the two values."""
    n = rows.num_rows
    kind = pa.repeat(pa.scalar(defect_type), n) if isinstance(defect_type, str) else defect_type
    return pa.table(
        {
            "table_name": pa.repeat(pa.scalar(spec.name), n),
            "partition": partition_text(spec, rows, day_iso),
            "pk_value": pk_text(rows, spec.pk),
            "column_name": pa.repeat(pa.scalar(column), n),
            "defect_type": kind,
            "clean_value": as_text(clean),
            "dirty_value": as_text(dirty),
        },
        schema=DEFECT_SCHEMA,
    )


def empty_log() -> pa.Table:
    return DEFECT_SCHEMA.empty_table()


def split_log(log: pa.Table) -> dict[str, pa.Table]:
    """Log rows by the value of their data partition (row order kept within each)."""
    if log.num_rows == 0:
        return {}
    log = log.take(pc.sort_indices(log, [("partition", "ascending")]))
    values = log.column("partition").to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    ends = np.append(starts[1:], len(values))
    return {
        str(values[a]).split("=", 1)[1]: log.slice(a, b - a)
        for a, b in zip(starts, ends, strict=True)
    }


def defect_counts(log: pa.Table) -> dict[str, dict[str, int]]:
    """Changed cells per table and defect type (a cell with two defects counts for both)."""
    counts: dict[str, dict[str, int]] = {}
    if log.num_rows == 0:
        return counts
    pairs = pc.binary_join_element_wise(log.column("table_name"), log.column("defect_type"), " ")
    for entry in pc.value_counts(pairs).to_pylist():  # one per (table, combination): a handful
        table, kinds = entry["values"].split(" ", 1)
        per_table = counts.setdefault(table, {})
        for name in kinds.split("+"):
            per_table[name] = per_table.get(name, 0) + entry["counts"]
    return counts


def counts_json(log: pa.Table, level: str, partition: str) -> str:
    """The sidecar next to a log partition's manifest: counts by table and defect type."""
    body = {
        "cells": log.num_rows,
        "counts": defect_counts(log),
        "level": level,
        "partition": partition,
    }
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


# The counts sidecar as lake/check.py's `sidecar_problem` checks it: its name and the log's
# columns its counts are made of.
COUNTS_SIDECAR = (COUNTS_NAME, ["table_name", "defect_type"])


def counts_problem(
    stored: bytes | None, rows: pa.Table, partition: str, *, level: str
) -> str | None:
    """Why a log partition's counts sidecar (`stored`; None: absent or not a small plain file)
    is not the one its `rows` give, or None. The sidecar is in no manifest, so `verify` and
    `--repair` check it against the rows."""
    if stored is None:
        return f"no {COUNTS_NAME} (or not a small plain file)"
    if stored != counts_json(rows, level, partition).encode("utf-8"):
        return f"{COUNTS_NAME} does not give the counts of the log's rows"
    return None
