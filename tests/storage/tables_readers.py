"""Read a lake back as rows, per table: the Hive Parquet files, or an Iceberg/Delta table."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from ecomlake.lake import resolve_target
from ecomlake.render.registry import INGEST_KEY, SIGNUP_KEY, TABLE_NAMES
from ecomlake.tables.iceberg import open_catalog
from ecomlake.tables.options import TableOptions


def hive_rows(target: str, table: str, storage_options: dict | None = None) -> pa.Table:
    """Every Parquet file of the table, with its partition key (only in the path) added as a
    column: a date for a day's key (`ingest_dt`, `signup_dt`), else text (`category_key`)."""
    loc = resolve_target(target, storage_options)
    parts = []
    for path in sorted(p for p in loc.fs.find(f"{loc.root}/{table}") if p.endswith(".parquet")):
        data = ds.dataset(path, filesystem=loc.fs, format="parquet").to_table()
        key, _, value = path.split("/")[-2].partition("=")
        if key not in data.column_names:
            if key in (INGEST_KEY, SIGNUP_KEY):
                column = pa.array([dt.date.fromisoformat(value)] * data.num_rows, pa.date32())
            else:
                column = pa.array([value] * data.num_rows, pa.string())
            data = data.append_column(key, column)
        parts.append(data)
    return pa.concat_tables(parts)


def catalog(target: str, storage_options: dict | None = None, **options) -> Catalog:
    return open_catalog(resolve_target(target, storage_options), TableOptions("iceberg", **options))


def iceberg_rows(cat: Catalog, table: str) -> pa.Table:
    return cat.load_table(("ecomlake", table)).scan().to_arrow()


def delta_rows(target: str, table: str, storage_options: dict | None = None) -> pa.Table:
    return DeltaTable(f"{target}/{table}", storage_options=storage_options).to_pyarrow_table()


def canonical(data: pa.Table) -> list[tuple]:
    """Rows as sorted tuples of text over sorted column names (partition keys as dates/text)."""
    names = sorted(data.column_names)
    rows = data.select(names).to_pylist()
    return sorted(tuple(str(row[n]) for n in names) for row in rows)


def commit_counts(fmt: str, target: str, cat: Catalog | None = None, **delta_opts) -> dict:
    """Commits per table: Iceberg snapshots, Delta log versions (version 0 is one commit);
    0 for a table no day has rows of yet."""
    counts = {}
    for table in TABLE_NAMES:
        try:
            if fmt == "iceberg":
                counts[table] = len(cat.load_table(("ecomlake", table)).snapshots())
            else:
                counts[table] = DeltaTable(f"{target}/{table}", **delta_opts).version() + 1
        except (NoSuchTableError, TableNotFoundError):
            counts[table] = 0
    return counts
