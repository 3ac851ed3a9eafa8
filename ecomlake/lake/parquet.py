"""Arrow table -> Parquet bytes with pinned writer options, plus the deterministic row split.

The same table and options always give the same bytes (for a given pyarrow version).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ecomlake.errors import ConfigError, OptionError

COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
BYTES_PER_MB = 1_048_576
# Pinned so a pyarrow upgrade that changes a default does not silently change our bytes.
_PARQUET_FORMAT_VERSION = "2.6"
_DATA_PAGE_VERSION = "1.0"
_OWNER = "ParquetOptions"  # generate names these as its own options (ecomlake/lakes.py)
_INT64_DIGITS = 18  # decimals this narrow are written as plain INT64, which every reader takes


@dataclass(frozen=True)
class ParquetOptions:
    """Writer settings for every part file; validated when built."""

    compression: str = "zstd"
    compression_level: int | None = None
    target_size_mb: float = 128.0
    row_group_rows: int = 1_000_000

    def __post_init__(self) -> None:
        codec = str(self.compression).lower()
        if codec not in COMPRESSIONS:
            rule = f"must be one of {', '.join(COMPRESSIONS)}, got {self.compression!r}"
            raise OptionError(_OWNER, "{compression}: " + rule, "compression")
        object.__setattr__(self, "compression", codec)
        _check_level(codec, self.compression_level)
        if not self.target_size_mb > 0:
            rule = f"{{target_size_mb}}: must be > 0, got {self.target_size_mb}"
            raise OptionError(_OWNER, rule, "target_size_mb")
        # a float always: 16 and 16.0 must record the same manifest bytes
        object.__setattr__(self, "target_size_mb", float(self.target_size_mb))
        if self.row_group_rows < 1:
            raise ConfigError(f"row_group_rows: must be >= 1, got {self.row_group_rows}")


def _check_level(codec: str, level: int | None) -> None:
    """Reject levels the codec cannot take here rather than at the first write."""
    if level is None:
        return
    if codec == "none" or not pa.Codec.supports_compression_level(codec):
        rule = f"{{compression_level}}: not supported with {codec}"
        raise OptionError(_OWNER, rule, "compression_level")
    low = pa.Codec.minimum_compression_level(codec)
    high = pa.Codec.maximum_compression_level(codec)
    if not low <= level <= high:
        rule = f"{{compression_level}}: must be {low}..{high} for {codec}, got {level}"
        raise OptionError(_OWNER, rule, "compression_level")


def split_rows(table: pa.Table, target_size_mb: float) -> list[tuple[int, int]]:
    """Consecutive (offset, length) slices, one per part file.

    rows_per_file = max(1, floor(target bytes / ceil(value bytes per row))), where value bytes
    count what the values take, not how their buffers happen to be laid out (`value_bytes`), so
    the same rows always split the same way, whether rendered or read back from CSV. That size
    is normally well above the encoded, compressed Parquet size, so files come out at or below
    the target (an estimate, not a hard bound: incompressible data can overshoot slightly).
    """
    if not target_size_mb > 0:
        raise ValueError(f"target_size_mb: must be > 0, got {target_size_mb}")
    rows = table.num_rows
    if rows == 0:
        return []
    if _surely_one_file(table, target_size_mb * BYTES_PER_MB):
        return [(0, rows)]
    bytes_per_row = max(1, math.ceil(value_bytes(table) / rows))
    rows_per_file = max(1, math.floor(target_size_mb * BYTES_PER_MB / bytes_per_row))
    return [(start, min(rows_per_file, rows - start)) for start in range(0, rows, rows_per_file)]


def _surely_one_file(table: pa.Table, target_bytes: float) -> bool:
    """True if value bytes + rows <= target, which makes one file; judged from buffer sizes.

    Buffers never hold fewer bytes than `value_bytes` counts, except for dictionary columns
    (counted decoded) and null columns (a byte a row), so this skips `value_bytes`, which
    measures every string, for the many small tables without changing any split.
    """
    if any(pa.types.is_dictionary(kind) for kind in table.schema.types):
        return False
    return table.nbytes + table.num_rows * (table.num_columns + 1) <= target_bytes


def value_bytes(table: pa.Table) -> int:
    """Bytes the values occupy: fixed width × rows, string bytes + 4-byte offsets per row."""
    total = 0
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pa.types.is_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_string(kind):
            total += (pc.sum(pc.binary_length(column)).as_py() or 0) + 4 * len(column)
        elif pa.types.is_boolean(kind):
            total += (len(column) + 7) // 8
        elif pa.types.is_decimal(kind) and kind.precision <= _INT64_DIGITS:
            total += 8 * len(column)  # stored as an INT64 (`store_decimal_as_integer`)
        else:
            total += max(kind.bit_width // 8, 1) * len(column)
    return total


# A customer's own contact text: next to unique per row, like a key. (First and last names
# repeat, and keep their dictionary.)
NEARLY_UNIQUE_TEXT = (
    "email",
    "phone_number",
    "mailing_address",
    "billing_address",
    "shipping_address",
)


def dictionary_columns(schema: pa.Schema, plain: Sequence[str] = ()) -> list[str]:
    """The columns worth a dictionary: repeated values (labels, names, ids of other tables,
    dates, flags). Keys (`plain`), `event_id`, contact text, timestamps and money are nearly
    unique per row: a dictionary there costs a hash table per file and makes the file bigger
    (measured on a backlog day: 18 % less encode CPU and 8 % smaller files without them; the
    contact text alone, on a mid-year fortnight of the million-customer world: 4-8 % less
    encode CPU and 2.9 % fewer bytes). The one zoned timestamp, the lineage `ingestion_ts`, is
    constant per file and keeps its dictionary."""
    skip = {*plain, "event_id", *NEARLY_UNIQUE_TEXT}
    return [
        f.name
        for f in schema
        if f.name not in skip
        and not (pa.types.is_timestamp(f.type) and f.type.tz is None)
        and not pa.types.is_floating(f.type)
        and not pa.types.is_decimal(f.type)
    ]


def encode_parquet(table: pa.Table, options: ParquetOptions, plain: Sequence[str] = ()) -> bytes:
    """Encode `table` as one Parquet file in memory with every writer option pinned; `plain`
    names the table's key columns (no dictionary for them)."""
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        row_group_size=options.row_group_rows,
        version=_PARQUET_FORMAT_VERSION,
        use_dictionary=dictionary_columns(table.schema, plain),
        compression=options.compression,
        compression_level=options.compression_level,
        write_statistics=True,
        data_page_version=_DATA_PAGE_VERSION,
        store_schema=True,
        store_decimal_as_integer=True,
        write_page_index=False,
        write_page_checksum=False,
    )
    return sink.getvalue().to_pybytes()
