"""Pure path logic for the lake: `<table>/<key>=<value>/part-00000.parquet`, relative, '/'-joined.

Every name that becomes a path segment goes through `validate_segment`, so no table name or
partition value can escape the lake root.
"""

from __future__ import annotations

import re

from ecomlake.errors import ConfigError

MANIFEST_NAME = "_MANIFEST.json"
SUCCESS_NAME = "_SUCCESS"
PART_DIGITS = 5

_PART_FILE_RE = re.compile(r"part-\d+\.parquet")
_TEMP_FILE_RE = re.compile(r"\..+\.tmp-\d+")
_DATA_SUFFIXES = (".parquet", ".parq", ".pq")


def validate_segment(value: str, what: str) -> str:
    """Return `value` if it is safe as one path segment, else raise a one-line ConfigError."""
    problem = segment_problem(value)
    if problem:
        raise ConfigError(f"{what} {value!r}: {problem}")
    return value


def segment_problem(value: str) -> str | None:
    """Why `value` cannot be one path segment; None when it can."""
    if not isinstance(value, str) or value == "":
        return "must be a non-empty string"
    unsafe = (
        value in (".", "..")
        or value.startswith("/")
        or "/" in value
        or "\\" in value
        or "\x00" in value
    )
    # the caller shows `value` with repr(), which keeps the message on one line
    return "must not contain '/', '..', or be absolute" if unsafe else None


def partition_name(key: str, value: str) -> str:
    """`ingest_dt=2024-01-02`: the Hive segment, also the manifest's `partition` field."""
    validate_segment(key, "partition key")
    if "=" in key:
        raise ConfigError(f"partition key {key!r}: must not contain '='")
    validate_segment(value, "partition value")
    return f"{key}={value}"


def partition_dir(table: str, key: str, value: str) -> str:
    """`<table>/<key>=<value>`, relative to the lake root."""
    validate_segment(table, "table name")
    return f"{table}/{partition_name(key, value)}"


def part_file_name(index: int) -> str:
    """`part-00000.parquet`: deterministic per index, so re-runs overwrite, never duplicate."""
    if index < 0:
        raise ValueError(f"part index {index}: must be >= 0")
    return f"part-{index:0{PART_DIGITS}d}.parquet"


def is_part_file(name: str) -> bool:
    """True for any `part-<digits>.parquet`, including the older tool's 4-digit names."""
    return _PART_FILE_RE.fullmatch(name) is not None


def is_hidden(name: str) -> bool:
    """`_SUCCESS`, `_delta_log`, `.tmp`: names that Spark, pyarrow and pandas skip when they
    read a folder."""
    return name.startswith(("_", "."))


def is_data_file(name: str) -> bool:
    """True for a name a reader of the folder would take as data: any `.parquet`, `.parq` or
    `.pq` in any case (a DuckDB or polars glob reads `_x.parquet` too, though Spark and pyarrow
    skip it), or a visible name without a suffix. An unlisted one in a committed partition is
    damage; other files (e.g. a hook's `summary.txt`) are left alone."""
    if name.lower().endswith(_DATA_SUFFIXES):
        return True
    return not is_hidden(name) and "." not in name


def is_foreign_file(name: str) -> bool:
    """True for a visible file that is not data (a hook's `summary.txt`, a `notes.csv`):
    pandas and pyarrow read every visible file of a table's folder as Parquet and fail."""
    return not is_hidden(name) and not is_data_file(name)


def is_temp_file(name: str) -> bool:
    """True for a leftover `.<name>.tmp-<pid>` from an interrupted local write."""
    return _TEMP_FILE_RE.fullmatch(name) is not None
