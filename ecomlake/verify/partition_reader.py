"""One committed partition at a time, for `verify --against-defects`.

Listing gives only manifests; rows are read when a partition is checked, file by file (so a
remote lake is streamed), with a filter pushed into the Parquet reader where only some rows
matter: row groups whose statistics rule the filter out are not even decoded.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ecomlake.lake.fs import LakeLocation, list_dir, read_bytes
from ecomlake.lake.layout import MANIFEST_NAME, SUCCESS_NAME
from ecomlake.lake.manifest import PartitionManifest
from ecomlake.lineage import LINEAGE_COLUMNS


def committed_partitions(loc: LakeLocation, table: str) -> dict[str, PartitionManifest]:
    """Partition value -> manifest of each committed (`_SUCCESS`) partition of `table`."""
    parts = {}
    for partition in list_dir(loc, table):
        rel_dir = f"{table}/{partition}"
        if "=" not in partition or SUCCESS_NAME not in list_dir(loc, rel_dir):
            continue
        manifest = PartitionManifest.from_json(read_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}"))
        parts[partition.split("=", 1)[1]] = manifest
    return parts


def read_rows(
    loc: LakeLocation,
    manifest: PartitionManifest,
    equal: dict[str, str] | None = None,
    columns: list[str] | None = None,
) -> pa.Table:
    """The partition's rows (all, or those whose columns have the `equal` values), lineage
    columns dropped. Row groups whose min/max statistics exclude a value are not decoded."""
    pieces = []
    for file in manifest.files:
        parquet = pq.ParquetFile(io.BytesIO(read_bytes(loc, file.path)))
        for group in range(parquet.num_row_groups):
            if equal and not _may_hold(parquet.metadata.row_group(group), equal):
                continue
            rows = parquet.read_row_group(group, columns=columns, use_threads=False)
            for column, value in (equal or {}).items():
                rows = rows.filter(pc.equal(rows.column(column), value))
            pieces.append(rows)
    data = pa.concat_tables(pieces) if pieces else parquet.schema_arrow.empty_table()
    data = data.select(columns) if columns else data
    return data.drop_columns([c for c in LINEAGE_COLUMNS if c in data.column_names])


def _may_hold(group: pq.RowGroupMetaData, equal: dict[str, str]) -> bool:
    """False if the statistics of some column of the row group rule its value out."""
    for i in range(group.num_columns):
        chunk = group.column(i)
        value = equal.get(chunk.path_in_schema)
        stats = chunk.statistics
        known = value is not None and stats is not None and stats.has_min_max
        if known and not stats.min <= value <= stats.max:
            return False
    return True
