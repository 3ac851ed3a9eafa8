"""What a table commit is made of: a day's partitions and their files, from the lake's
manifests, independent of the table format."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from ecomlake.lake import LakeLocation, PartitionManifest, join
from ecomlake.render.registry import INGEST_KEY, SIGNUP_KEY


@dataclass(frozen=True)
class TableFile:
    """One Parquet data file: path relative to the lake root, bytes and rows."""

    path: str
    size: int
    rows: int


@dataclass(frozen=True)
class TablePartition:
    """One committed Hive partition `<table>/<key>=<value>` and its files."""

    table: str
    key: str
    value: str
    files: tuple[TableFile, ...]

    @property
    def rel_dir(self) -> str:
        return f"{self.table}/{self.key}={self.value}"

    @classmethod
    def from_manifest(cls, loc: LakeLocation, manifest: PartitionManifest) -> TablePartition:
        """The partition as its manifest lists it (an older manifest without sizes: listed)."""
        key, _, value = manifest.partition.partition("=")
        files = tuple(
            TableFile(f.path, f.size if f.size is not None else _size(loc, f.path), f.rows)
            for f in manifest.files
        )
        return cls(manifest.table, key, value, files)


def _size(loc: LakeLocation, rel_path: str) -> int:
    return int(loc.fs.size(join(loc.root, rel_path)))


def table_schema(loc: LakeLocation, partition: TablePartition) -> pa.Schema:
    """The table's Arrow schema, read from one data file's footer (so it follows whatever the
    writer writes), plus the partition column when the files leave it to the path: a day
    (`ingest_dt`, a customer's `signup_dt`) is a date, a category key is text."""
    with loc.fs.open(join(loc.root, partition.files[0].path), "rb") as handle:
        schema = pq.read_schema(handle)
    if partition.key in schema.names:
        return schema
    kind = pa.date32() if partition.key in (INGEST_KEY, SIGNUP_KEY) else pa.string()
    return schema.append(pa.field(partition.key, kind))
