"""Write one Hive partition: part files, then `_MANIFEST.json`, then an empty `_SUCCESS` last.

A partition without `_SUCCESS` is incomplete. With pinned lineage every byte written depends only
on the data, the options and the run identity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.errors import CommitError, EcomlakeError
from ecomlake.lake.check import check_partition
from ecomlake.lake.fs import LakeLocation, list_dir, remove, write_bytes
from ecomlake.lake.layout import (
    MANIFEST_NAME,
    SUCCESS_NAME,
    is_data_file,
    is_temp_file,
    part_file_name,
    partition_dir,
    partition_name,
)
from ecomlake.lake.manifest import SCHEMA_VERSION, ManifestFile, PartitionManifest
from ecomlake.lake.parquet import ParquetOptions, encode_parquet, split_rows
from ecomlake.lineage import Lineage, apply_lineage


@dataclass(frozen=True)
class RunIdentity:
    """What makes a partition reusable by a later run: same seed and config fingerprint."""

    seed: int
    config_fingerprint: str
    generator_version: str


@dataclass(frozen=True)
class PartitionWrite:
    """Everything besides the data that goes into a partition's bytes: its lineage and the
    Parquet options. `--repair` rebuilds it from a manifest or a run record."""

    lineage: Lineage
    parquet: ParquetOptions

    @classmethod
    def from_record(
        cls, batch_id: str, ingestion_ts: str, writer: dict[str, Any] | None
    ) -> PartitionWrite:
        """From a manifest's or run record's lineage and `writer` (None: the defaults)."""
        writer = dict(writer or {})
        prefix = writer.pop("source_prefix", None)
        return cls(Lineage(batch_id, ingestion_ts, prefix), ParquetOptions(**writer))


def writer_record(lineage: Lineage, parquet: ParquetOptions) -> dict[str, Any]:
    """The manifest's `writer`: the Parquet options and source prefix the bytes depend on."""
    return {**asdict(parquet), "source_prefix": lineage.source_prefix}


def _event_date_range(data: pa.Table, column: str | None) -> tuple[str | None, str | None]:
    """(min, max) of a date or timestamp column as YYYY-MM-DD, or (None, None)."""
    if column is None:
        return None, None
    if column not in data.column_names:
        raise ValueError(f"event_date_column {column!r} is not in the table")
    values = data.column(column)
    kind = values.type
    if not (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
        raise TypeError(f"event_date_column {column!r}: expected a date or timestamp, got {kind}")
    bounds = pc.min_max(values)
    return _iso_date(bounds["min"].as_py()), _iso_date(bounds["max"].as_py())


def _iso_date(value: dt.date | dt.datetime | None) -> str | None:
    """Calendar date of a date or datetime (a tz-aware one in its own zone)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def _write_parts(
    loc: LakeLocation,
    rel_dir: str,
    table_name: str,
    data: pa.Table,
    pk_columns: Sequence[str],
    lineage: Lineage,
    parquet: ParquetOptions,
) -> list[ManifestFile]:
    """Split, add lineage per file, encode and write every part; return their manifest entries."""
    files: list[ManifestFile] = []
    for index, (offset, length) in enumerate(split_rows(data, parquet.target_size_mb)):
        rel_path = f"{rel_dir}/{part_file_name(index)}"
        chunk = apply_lineage(data.slice(offset, length), table_name, pk_columns, lineage, rel_path)
        payload = encode_parquet(chunk, parquet, pk_columns)
        write_bytes(loc, rel_path, payload)
        digest = hashlib.sha256(payload).hexdigest()
        files.append(ManifestFile(rel_path, length, digest, len(payload)))
    return files


def _remove_stale(loc: LakeLocation, rel_dir: str, written: set[str]) -> None:
    """Drop Parquet files this write did not make (parts an earlier, larger write left behind,
    stray ones a reader would take as data) and orphaned temp files."""
    for name in list_dir(loc, rel_dir):
        if (is_data_file(name) and name not in written) or is_temp_file(name):
            remove(loc, f"{rel_dir}/{name}")


def write_partition(
    loc: LakeLocation,
    table_name: str,
    partition_key: str,
    partition_value: str,
    data: pa.Table,
    *,
    pk_columns: Sequence[str],
    event_date_column: str | None,
    lineage: Lineage,
    parquet: ParquetOptions,
    identity: RunIdentity,
    messiness: dict | None = None,
) -> PartitionManifest:
    """Write and commit one partition; returns the manifest that was written.

    `messiness` (messy runs) is recorded in the manifest as is.

    Raises ValueError for an empty table (a day with no rows writes no partition) and
    CommitError, naming the partition, when storage fails.
    """
    rel_dir = partition_dir(table_name, partition_key, partition_value)
    if data.num_rows == 0:
        raise ValueError(f"{rel_dir}: refusing to write an empty partition")
    missing = [c for c in pk_columns if c not in data.column_names]
    if not pk_columns or missing:
        raise ValueError(f"{rel_dir}: primary-key columns {list(pk_columns)} not all in the table")
    min_dt, max_dt = _event_date_range(data, event_date_column)
    try:
        # Uncommit first: a crash from here on leaves the partition visibly incomplete.
        remove(loc, f"{rel_dir}/{SUCCESS_NAME}")
        files = _write_parts(loc, rel_dir, table_name, data, pk_columns, lineage, parquet)
        _remove_stale(loc, rel_dir, {f.path.rsplit("/", 1)[-1] for f in files})
        manifest = PartitionManifest(
            batch_id=lineage.batch_id,
            created_at=lineage.ingestion_ts,  # not the wall clock: pinned runs stay identical
            files=tuple(files),
            generator_version=identity.generator_version,
            max_event_dt=max_dt,
            min_event_dt=min_dt,
            partition=partition_name(partition_key, partition_value),
            schema_version=SCHEMA_VERSION,
            table=table_name,
            total_rows=data.num_rows,
            seed=identity.seed,
            config_fingerprint=identity.config_fingerprint,
            messiness=messiness,
            writer=writer_record(lineage, parquet),
        )
        write_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}", manifest.to_json().encode("utf-8"))
        write_bytes(loc, f"{rel_dir}/{SUCCESS_NAME}", b"")
    except EcomlakeError as exc:
        raise CommitError(f"{rel_dir}: commit failed: {exc}") from exc
    return manifest


def is_committed(
    loc: LakeLocation, table_name: str, key: str, value: str, identity: RunIdentity
) -> bool:
    """True if `_SUCCESS` exists, the manifest has the same seed, config and generator, and one
    listing shows exactly the manifest's files at their sizes (else the partition is rewritten)."""
    rel_dir = partition_dir(table_name, key, value)
    return check_partition(loc, rel_dir, identity).problem is None
