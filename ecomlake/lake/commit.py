"""What a partition's commit depends on besides its rows: the run identity, the lineage and
writer options (`PartitionWrite`), the event-date range; and whether it is committed.

The writing itself is `lake/sink.py`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.lake.check import check_partition
from ecomlake.lake.fs import LakeLocation
from ecomlake.lake.layout import (
    partition_dir,
)
from ecomlake.lake.parquet import ParquetOptions
from ecomlake.lineage import Lineage


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


def event_date_range(data: pa.Table, column: str | None) -> tuple[str | None, str | None]:
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


def is_committed(
    loc: LakeLocation, table_name: str, key: str, value: str, identity: RunIdentity
) -> bool:
    """True if `_SUCCESS` exists, the manifest has the same seed, config and generator, and one
    listing shows exactly the manifest's files at their sizes (else the partition is rewritten)."""
    rel_dir = partition_dir(table_name, key, value)
    return check_partition(loc, rel_dir, identity).problem is None
