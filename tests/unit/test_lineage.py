"""Lineage columns: order, values, and event_id equal to the older tool's json+sha256 formula."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import numpy as np
import pyarrow as pa
import pytest

from ecomlake import lineage
from ecomlake.lineage import (
    Lineage,
    apply_lineage,
    default_batch_id,
    default_ingestion_ts,
    event_ids,
    is_ingestion_ts,
)

TS = "2026-01-01T00:00:00+00:00"


def _reference_event_id(table_name: str, row: dict) -> str:
    """The older tool's formula, row by row (the oracle)."""
    payload = json.dumps({**row, "_table": table_name}, sort_keys=True, separators=(",", ":"))
    return "evt_" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _reference_ids(table: pa.Table, table_name: str, pks: list[str]) -> list[str]:
    rows = table.select(pks).to_pylist()
    return [_reference_event_id(table_name, row) for row in rows]


class TestEventIds:
    def test_documented_payload_example(self) -> None:
        table = pa.table({"order_id": ["ORD-00752550"], "product_id": [99]})
        payload = '{"_table":"order_items","order_id":"ORD-00752550","product_id":99}'
        expected = "evt_" + hashlib.sha256(payload.encode()).hexdigest()
        assert event_ids(table, "order_items", ["order_id", "product_id"]).to_pylist() == [expected]

    def test_matches_json_dumps_for_plain_strings_and_ints(self) -> None:
        table = pa.table(
            {
                "order_id": ["ORD-00000001", "ORD-11454412", "GUEST-7", "x y_z.1"],
                "product_id": pa.array([1, 99, 0, -5], pa.int32()),
            }
        )
        got = event_ids(table, "order_items", ["order_id", "product_id"])
        assert got.type == pa.string()
        assert got.to_pylist() == _reference_ids(table, "order_items", ["order_id", "product_id"])

    @pytest.mark.parametrize("kind", [pa.int8(), pa.int16(), pa.int32(), pa.int64()])
    def test_signed_integer_keys_at_their_extremes(self, kind: pa.DataType) -> None:
        """Integer keys are written as text where they are hashed: every digit count and sign."""
        bits = kind.bit_width
        values = [0, -1, 1, 9, 10, -10, 2 ** (bits - 1) - 1, -(2 ** (bits - 1))]
        values += [10**k for k in range(bits // 4)] + [-(10**k) + 1 for k in range(bits // 4)]
        table = pa.table({"line": pa.array(values, kind), "cart_id": ["c"] * len(values)})
        for part in (table, table.slice(2, 5)):
            got = event_ids(part, "cart_items", ["cart_id", "line"]).to_pylist()
            assert got == _reference_ids(part, "cart_items", ["cart_id", "line"])

    def test_integer_keys_with_nulls_and_unsigned(self) -> None:
        table = pa.table(
            {
                "a": pa.array([1, None, -3], pa.int64()),
                "b": pa.array([0, 2**64 - 1, 7], pa.uint64()),
            }
        )
        assert event_ids(table, "t", ["a", "b"]).to_pylist() == _reference_ids(
            table, "t", ["a", "b"]
        )

    def test_matches_json_dumps_for_escapes_nulls_and_unicode(self) -> None:
        table = pa.table({"cart_id": ['a"b', "back\\slash", "caf\u00e9", "tab\t", None, "\u2028"]})
        got = event_ids(table, "shopping_carts", ["cart_id"]).to_pylist()
        assert got == _reference_ids(table, "shopping_carts", ["cart_id"])

    def test_slices_see_only_their_own_bytes(self) -> None:
        """The no-escape shortcut reads the string buffer: a slice must not see its neighbours'."""
        table = pa.table({"cart_id": ['a"b', "plain", "caf\u00e9", "tail", ""]})
        for offset, length in [(1, 1), (0, 2), (1, 2), (3, 1), (2, 2), (4, 1)]:
            part = table.slice(offset, length)
            got = event_ids(part, "shopping_carts", ["cart_id"]).to_pylist()
            assert got == _reference_ids(part, "shopping_carts", ["cart_id"]), (offset, length)

    def test_key_order_is_sorted_not_column_order(self) -> None:
        table = pa.table({"z_id": [1], "a_id": ["k"]})
        assert event_ids(table, "t", ["z_id", "a_id"]).to_pylist() == _reference_ids(
            table, "t", ["z_id", "a_id"]
        )

    def test_dictionary_and_chunked_columns(self) -> None:
        ids = pa.chunked_array(
            [pa.array(["A", "B"]).dictionary_encode(), pa.array(["A"]).dictionary_encode()]
        )
        table = pa.table({"customer_id": ids})
        got = event_ids(table, "customers", ["customer_id"]).to_pylist()
        assert got == _reference_ids(table.combine_chunks(), "customers", ["customer_id"])
        assert got[0] == got[2]

    def test_empty_table(self) -> None:
        table = pa.table({"order_id": pa.array([], pa.string())})
        assert len(event_ids(table, "orders", ["order_id"])) == 0

    def test_rejects_unsupported_type(self) -> None:
        with pytest.raises(TypeError, match="price"):
            event_ids(pa.table({"price": [1.5]}), "t", ["price"])

    def test_rejects_missing_pk(self) -> None:
        with pytest.raises(ValueError, match="order_id"):
            event_ids(pa.table({"x": [1]}), "orders", ["order_id"])


# Empty, one block, the 55/56-byte edge where the length no longer fits, past one and two
# 64-byte blocks, and multi-byte UTF-8 (bytes are hashed, not characters).
PAYLOADS = ["", "a", "x" * 55, "y" * 56, "z" * 64, "w" * 65, "v" * 129, "caf\u00e9 \u2028" * 9]
native = pytest.mark.skipif(
    lineage._native_hex_digests is None, reason="ecomlake._sha256batch is not built"
)


def _hashlib_ids(payloads: list[str]) -> list[str]:
    return ["evt_" + hashlib.sha256(p.encode()).hexdigest() for p in payloads]


class TestHashPaths:
    """The C batch path and the hashlib fallback give the same bytes as hashlib row by row."""

    @native
    def test_native_and_hashlib_paths_agree_byte_for_byte(self) -> None:
        payloads = pa.array(PAYLOADS)
        fast = lineage._hash_payloads([payloads], len(PAYLOADS))
        slow = lineage._hash_payloads_hashlib(payloads)
        assert fast.buffers()[2].to_pybytes() == slow.buffers()[2].to_pybytes()
        assert fast.to_pylist() == _hashlib_ids(PAYLOADS)

    @native
    def test_native_path_joins_constants_and_columns_per_row(self) -> None:
        left, right = pa.array(PAYLOADS), pa.array(list(reversed(PAYLOADS)))
        pieces = ['{"a":"', left, '","b":', right, "}"]
        joined = [
            f'{{"a":"{a}","b":{b}}}' for a, b in zip(PAYLOADS, reversed(PAYLOADS), strict=True)
        ]
        assert lineage._hash_payloads(pieces, len(PAYLOADS)).to_pylist() == _hashlib_ids(joined)

    @native
    @pytest.mark.parametrize("start,length", [(0, 0), (1, 3), (5, 3), (7, 1), (3, 0)])
    def test_native_path_reads_only_its_slice(self, start: int, length: int) -> None:
        part = pa.array(PAYLOADS).slice(start, length)
        assert lineage._hash_payloads(["<", part], length).to_pylist() == _hashlib_ids(
            ["<" + p for p in PAYLOADS[start : start + length]]
        )

    @native
    def test_native_path_rejects_offsets_outside_the_data(self) -> None:
        hex_digests = lineage._native_hex_digests
        with pytest.raises(ValueError, match="past the end"):
            hex_digests(1, ((np.array([0, 9], np.int32), b"short"),), b"evt_")
        with pytest.raises(ValueError, match="must not decrease"):
            hex_digests(2, ((np.array([0, 3, 1], np.int32), b"short"),), b"evt_")
        with pytest.raises(ValueError, match="n \\+ 1 = 3 int32"):
            hex_digests(2, (b"{", (np.array([0, 1], np.int32), b"s")), b"evt_")
        with pytest.raises(TypeError, match="offsets, data"):
            hex_digests(1, ((b"", b"", b""),), b"evt_")
        with pytest.raises(ValueError, match="n = 2 int64"):
            hex_digests(2, ((np.arange(3),),), b"evt_")
        with pytest.raises(ValueError, match="n = 2 int64"):
            hex_digests(2, ((np.arange(2, dtype=np.int32),),), b"evt_")
        with pytest.raises(ValueError, match="n = 2 int64"):
            hex_digests(2, ((np.arange(2.0),),), b"evt_")
        with pytest.raises(ValueError, match="n must be"):
            hex_digests(-1, (), b"evt_")

    def test_hashlib_fallback_gives_the_same_event_ids(self, monkeypatch) -> None:
        table = pa.table({"cart_id": PAYLOADS, "line": range(len(PAYLOADS))})
        with_default = event_ids(table, "carts", ["cart_id", "line"]).to_pylist()
        monkeypatch.setattr(lineage, "_native_hex_digests", None)
        assert event_ids(table, "carts", ["cart_id", "line"]).to_pylist() == with_default
        assert with_default == _reference_ids(table, "carts", ["cart_id", "line"])


class TestApplyLineage:
    def test_columns_appended_in_order(self) -> None:
        table = pa.table({"order_id": ["ORD-1", "ORD-2"], "total": [1.0, 2.0]})
        out = apply_lineage(table, "orders", ["order_id"], Lineage("batch_x", TS), None)
        assert out.column_names == ["order_id", "total", "batch_id", "ingestion_ts", "event_id"]
        assert out.column("batch_id").to_pylist() == ["batch_x", "batch_x"]
        moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        assert out.column("ingestion_ts").to_pylist() == [moment, moment]
        assert out.schema.field("ingestion_ts").type == pa.timestamp("us", tz="UTC")
        assert out.schema.field("batch_id").type == pa.string()

    def test_ingestion_ts_offset_becomes_the_same_utc_instant(self) -> None:
        table = pa.table({"order_id": ["ORD-1"]})
        lineage = Lineage("b", "2026-01-01T02:30:00+02:00")
        out = apply_lineage(table, "orders", ["order_id"], lineage, None)
        assert out.column("ingestion_ts").to_pylist() == [
            dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
        ]
        assert out.column("event_id").to_pylist() == _reference_ids(table, "orders", ["order_id"])

    def test_source_file_only_with_prefix(self) -> None:
        table = pa.table({"order_id": ["ORD-1"]})
        rel = "orders/ingest_dt=2024-01-02/part-00000.parquet"
        out = apply_lineage(table, "orders", ["order_id"], Lineage("b", TS, "gs://bkt/raw/"), rel)
        assert out.column_names[-1] == "source_file"
        assert out.column("source_file").to_pylist() == [f"gs://bkt/raw/{rel}"]
        plain = apply_lineage(table, "orders", ["order_id"], Lineage("b", TS), rel)
        assert "source_file" not in plain.column_names

    def test_prefix_without_source_file_is_an_error(self) -> None:
        with pytest.raises(ValueError):
            apply_lineage(pa.table({"id": [1]}), "t", ["id"], Lineage("b", TS, "s3://x"), None)

    def test_rejects_existing_lineage_column(self) -> None:
        table = pa.table({"id": [1], "batch_id": ["old"]})
        with pytest.raises(ValueError, match="batch_id"):
            apply_lineage(table, "t", ["id"], Lineage("b", TS), None)


def test_defaults_have_documented_shapes() -> None:
    assert re.fullmatch(r"batch_[0-9a-f]{32}", default_batch_id())
    ts = default_ingestion_ts()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", ts)
    assert is_ingestion_ts(ts)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01",
        "2026-01-01T00:00:00",
        "2026-13-01T00:00:00+00:00",
        "now",
        "",
        "9999-12-31T23:59:59-12:00",  # past year 9999 in UTC: every day failed to render
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_ingestion_ts_rejects(text: str) -> None:
    assert not is_ingestion_ts(text)
