"""Lineage columns appended to every lake file: batch_id, ingestion_ts, event_id[, source_file].

`ingestion_ts` is kept as ISO text in run records and manifests and written as a UTC timestamp.

`event_id` is a pure function of (table name, primary-key values), identical to the older tool's
`"evt_" + sha256(json.dumps({pks..., "_table": t}, sort_keys=True, separators=(",", ":")))`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:
    from ecomlake._sha256batch import hex_digests as _native_hex_digests
except ImportError:  # built without a C compiler or OpenSSL headers: same bytes, via hashlib
    _native_hex_digests = None
    logging.getLogger(__name__).debug(
        "ecomlake._sha256batch is not built; event_id hashes one row at a time with hashlib"
    )

LINEAGE_COLUMNS = ("batch_id", "ingestion_ts", "event_id", "source_file")
INGESTION_TS_TYPE = pa.timestamp("us", tz="UTC")
EVENT_ID_PREFIX = "evt_"

_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
INGESTION_TS_RULE = (
    "must be an ISO timestamp in whole seconds with an offset, like 2026-01-01T00:00:00+00:00, "
    "within years 0001-9999 in UTC too"
)
# json.dumps (ensure_ascii=True) escapes '"', '\\' and everything outside printable ASCII.
_NEEDS_JSON_ESCAPE = r'["\\]|[^ -~]'
_HEX_DIGEST_LEN = 64


@dataclass(frozen=True)
class Lineage:
    """One batch's lineage values; pin both strings to get byte-identical output."""

    batch_id: str
    ingestion_ts: str
    source_prefix: str | None = None


def default_batch_id() -> str:
    """`batch_<uuid4 hex>`, as the older tool's `--batch-id` default."""
    return "batch_" + uuid.uuid4().hex


def default_ingestion_ts() -> str:
    """UTC now with whole seconds, e.g. `2026-11-29T09:19:31+00:00`."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def is_ingestion_ts(text: object) -> bool:
    """Whether `text` is `YYYY-MM-DDTHH:MM:SS±HH:MM` (an offset, whole seconds), a real time
    that is also one in UTC (`0001-01-01T00:00:00+01:00` is not: the column holds UTC)."""
    if not isinstance(text, str) or _TS_RE.fullmatch(text) is None:
        return False
    try:
        datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


def ingestion_instant(text: str) -> pa.Scalar:
    """The `ingestion_ts` text as a UTC instant, the type readers compare and sort on; its offset
    only says where it was written, so `+02:00` lands on the same instant in UTC."""
    if not is_ingestion_ts(text):
        raise ValueError(f"ingestion_ts {text!r}: not YYYY-MM-DDTHH:MM:SS with a UTC offset")
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return pa.scalar(moment, INGESTION_TS_TYPE)


def _json_values(column: pa.ChunkedArray | pa.Array, name: str) -> tuple[pa.Array, bool]:
    """Each value's JSON literal text, and whether it is bare string text still to be quoted.

    Strings with no nulls and nothing to escape (every key this tool writes) come back bare, so
    the caller folds the quotes into its constant pieces instead of joining them per row. Signed
    integers without nulls come back as they are: their decimal text is the literal, written by
    `_hash_payloads` (in C, without a string column).
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_signed_integer(kind) and column.null_count == 0:
        return column, False  # the text of each value is written where it is hashed
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return pc.fill_null(pc.cast(column, pa.string()), "null"), False
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise TypeError(f"primary key {name!r}: event_id supports int, bool or string, got {kind}")
    if kind != pa.string():
        column = pc.cast(column, pa.string())
    if column.null_count == 0 and not _may_need_escape(column):
        return column, True
    text = pc.binary_join_element_wise('"', column, '"', "")
    escape = pc.fill_null(pc.match_substring_regex(column, _NEEDS_JSON_ESCAPE), False)
    if pc.any(escape).as_py():
        # Rare path: let json.dumps produce the exact escapes for the flagged rows only.
        flagged = column.filter(escape).to_pylist()
        text = pc.replace_with_mask(text, escape, pa.array([json.dumps(v) for v in flagged]))
    return pc.fill_null(text, "null"), False


def _may_need_escape(column: pa.StringArray) -> bool:
    """Any byte json.dumps would escape: '"', a backslash, or one outside printable ASCII."""
    _, offsets, data = column.buffers()
    if data is None or len(column) == 0:
        return False
    bounds = np.frombuffer(offsets, dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    raw = np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]]
    return bool(((raw < 0x20) | (raw > 0x7E) | (raw == 0x22) | (raw == 0x5C)).any())


def _hash_payloads(pieces: Sequence[pa.Array | str], n: int) -> pa.Array:
    """`evt_` + sha256 hex of each row's payload, the row's pieces joined (text constants and
    string arrays of `n` rows), returned as a plain string array."""
    if n == 0:
        return pa.array([], type=pa.string())
    if _native_hex_digests is None:
        scalars = [_text_piece(p) for p in pieces]
        return _hash_payloads_hashlib(pc.binary_join_element_wise(*scalars, ""))
    parts = tuple(_native_piece(p) for p in pieces)
    return _fixed_width_strings(n, _native_hex_digests(n, parts, EVENT_ID_PREFIX.encode()))


def _text_piece(piece: pa.Array | str) -> pa.Array | pa.Scalar:
    """A piece as string values for a join: constants as scalars, integers as their text."""
    if isinstance(piece, str):
        return pa.scalar(piece, pa.string())
    return pc.cast(piece, pa.string()) if pa.types.is_signed_integer(piece.type) else piece


def _native_piece(piece: pa.Array | str) -> bytes | tuple:
    """A piece as `hex_digests` takes it: constant bytes, a string column's buffers, or an
    integer column's values as int64 (a 1-tuple)."""
    if isinstance(piece, str):
        return piece.encode()
    if pa.types.is_signed_integer(piece.type):
        return (piece.cast(pa.int64()).to_numpy(),)
    return _string_buffers(piece)


def _string_buffers(values: pa.Array) -> tuple[np.ndarray, pa.Buffer | bytes]:
    """A string array's own n + 1 offsets and its data buffer, for the C path."""
    _, offsets, data = values.buffers()
    first = values.offset
    bounds = np.frombuffer(offsets, dtype=np.int32)[first : first + len(values) + 1]
    return bounds, b"" if data is None else data


def _hash_payloads_hashlib(payloads: pa.Array) -> pa.Array:
    """`_hash_payloads` one hashlib call per row: the path without the C extension."""
    n = len(payloads)
    sha256 = hashlib.sha256
    digests = b"".join([sha256(b).digest() for b in payloads.view(pa.binary()).to_pylist()])
    width = len(EVENT_ID_PREFIX) + _HEX_DIGEST_LEN
    out = np.empty((n, width), dtype=np.uint8)
    out[:, : len(EVENT_ID_PREFIX)] = np.frombuffer(EVENT_ID_PREFIX.encode(), dtype=np.uint8)
    hex_text = np.frombuffer(digests.hex().encode("ascii"), dtype=np.uint8)
    out[:, len(EVENT_ID_PREFIX) :] = hex_text.reshape(n, _HEX_DIGEST_LEN)
    return _fixed_width_strings(n, out)


def _fixed_width_strings(n: int, text: bytes | np.ndarray) -> pa.Array:
    """A string array of `n` equal-width values laid end to end in `text`."""
    width = len(EVENT_ID_PREFIX) + _HEX_DIGEST_LEN
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))


def event_ids(table: pa.Table, table_name: str, pk_columns: Sequence[str]) -> pa.Array:
    """One `evt_<sha256 hex>` per row, keyed by the table name and the primary-key values."""
    if not pk_columns:
        raise ValueError(f"{table_name}: event_id needs at least one primary-key column")
    if "_table" in pk_columns:
        raise ValueError(f"{table_name}: a primary-key column cannot be named '_table'")
    literals: dict[str, tuple[pa.Array, bool] | str] = {"_table": json.dumps(table_name)}
    for name in pk_columns:
        if name not in table.column_names:
            raise ValueError(f"{table_name}: primary-key column {name!r} is missing")
        literals[name] = _json_values(table.column(name), name)
    if table.num_rows == 0:
        return pa.array([], type=pa.string())
    # Same key order and separators as json.dumps(sort_keys=True, separators=(",", ":")).
    pieces: list[pa.Array | str] = []
    text = ""
    for i, key in enumerate(sorted(literals)):
        text += ("{" if i == 0 else ",") + json.dumps(key) + ":"
        value = literals[key]
        if isinstance(value, str):
            text += value
            continue
        values, bare = value
        pieces += [text + '"' if bare else text, values]
        text = '"' if bare else ""
    pieces.append(text + "}")
    return _hash_payloads(pieces, table.num_rows)


def apply_lineage(
    table: pa.Table,
    table_name: str,
    pk_columns: Sequence[str],
    lineage: Lineage,
    source_file: str | None,
) -> pa.Table:
    """Append batch_id, ingestion_ts, event_id and, with a source prefix, source_file.

    `source_file` is the file's path relative to the lake root; it is only used (and then
    required) when `lineage.source_prefix` is set.
    """
    clash = [c for c in LINEAGE_COLUMNS if c in table.column_names]
    if clash:
        raise ValueError(f"{table_name}: data already has lineage column(s) {clash}")
    n = table.num_rows
    out = table.append_column("batch_id", pa.repeat(pa.scalar(lineage.batch_id, pa.string()), n))
    out = out.append_column("ingestion_ts", pa.repeat(ingestion_instant(lineage.ingestion_ts), n))
    out = out.append_column("event_id", event_ids(table, table_name, pk_columns))
    if lineage.source_prefix is None:
        return out
    if not source_file:
        raise ValueError(f"{table_name}: source_prefix is set, so source_file is required")
    uri = f"{lineage.source_prefix.rstrip('/')}/{source_file.lstrip('/')}"
    return out.append_column("source_file", pa.repeat(pa.scalar(uri, pa.string()), n))
