"""Partition writer: files, split, lineage, manifest, commit order, cleanup, determinism."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecomlake.cli.flags import cli_message, flag
from ecomlake.errors import CommitError, ConfigError, OptionError, StorageError
from ecomlake.lake import (
    LakeLocation,
    ManifestFile,
    ParquetOptions,
    PartitionManifest,
    RunIdentity,
    encode_parquet,
    is_committed,
    list_dir,
    read_bytes,
    remove,
    resolve_target,
    split_rows,
    write_bytes,
    write_partition,
)
from ecomlake.lake import sink as sink_module
from ecomlake.lake.parquet import NEARLY_UNIQUE_TEXT, value_bytes
from ecomlake.lineage import Lineage, apply_lineage

TS = "2026-11-29T09:19:31+00:00"
LINEAGE = Lineage(batch_id="batch_test", ingestion_ts=TS)
IDENTITY = RunIdentity(seed=42, config_fingerprint="fp-abc", generator_version="0.1.0")
PART_DIR = "orders/ingest_dt=2024-01-02"
MANIFEST_KEYS = [
    "batch_id",
    "checksums",
    "config_fingerprint",
    "created_at",
    "files",
    "generator_version",
    "max_event_dt",
    "min_event_dt",
    "partition",
    "schema_version",
    "seed",
    "table",
    "total_rows",
    "writer",
]


def _orders(rows: int) -> pa.Table:
    return pa.table(
        {
            "order_id": [f"ORD-{i:08d}" for i in range(rows)],
            "customer_id": [f"CUST-{i % 7:05d}" for i in range(rows)],
            "order_date": pa.array([dt.date(2024, 1, 1 + i % 3) for i in range(rows)], pa.date32()),
            "total_cents": pa.array(range(rows), pa.int64()),
        }
    )


def _write(loc: LakeLocation, data: pa.Table, **overrides) -> PartitionManifest:
    kwargs = {
        "pk_columns": ["order_id"],
        "event_date_column": "order_date",
        "lineage": LINEAGE,
        "parquet": ParquetOptions(),
        "identity": IDENTITY,
    }
    kwargs.update(overrides)
    return write_partition(loc, "orders", "ingest_dt", "2024-01-02", data, **kwargs)


@pytest.fixture
def loc(tmp_path: Path) -> LakeLocation:
    return resolve_target(str(tmp_path / "lake"))


def _tiny_target(data: pa.Table, rows_per_file: int) -> float:
    """A target size (MB) that gives `rows_per_file` rows per part."""
    per_row = -(-value_bytes(data) // data.num_rows)
    return rows_per_file * per_row / 1_048_576


class TestWritePartition:
    def test_files_manifest_and_readback(self, loc: LakeLocation) -> None:
        data = _orders(10)
        manifest = _write(loc, data)
        assert list_dir(loc, PART_DIR) == ["_MANIFEST.json", "_SUCCESS", "part-00000.parquet"]
        assert read_bytes(loc, f"{PART_DIR}/_SUCCESS") == b""
        back = pq.read_table(os.path.join(loc.root, PART_DIR, "part-00000.parquet"))
        assert back.num_rows == 10
        assert back.column_names == [*data.column_names, "batch_id", "ingestion_ts", "event_id"]
        assert back.select(data.column_names).equals(data)
        assert set(back.column("batch_id").to_pylist()) == {"batch_test"}
        assert set(back.column("ingestion_ts").to_pylist()) == {dt.datetime.fromisoformat(TS)}
        payload = '{"_table":"orders","order_id":"ORD-00000003"}'
        assert (
            back.column("event_id")[3].as_py()
            == "evt_" + hashlib.sha256(payload.encode()).hexdigest()
        )
        assert manifest.files[0].path == f"{PART_DIR}/part-00000.parquet"

    def test_manifest_json_keys_and_checksums(self, loc: LakeLocation) -> None:
        _write(loc, _orders(10))
        text = read_bytes(loc, f"{PART_DIR}/_MANIFEST.json").decode()
        doc = json.loads(text)
        assert list(doc) == MANIFEST_KEYS
        assert text.endswith("}\n")
        part = read_bytes(loc, f"{PART_DIR}/part-00000.parquet")
        assert doc["checksums"] == [hashlib.sha256(part).hexdigest()]
        assert doc["files"] == [
            {
                "checksum": doc["checksums"][0],
                "path": f"{PART_DIR}/part-00000.parquet",
                "rows": 10,
                "size": len(part),
            }
        ]
        assert doc["writer"] == {
            "compression": "zstd",
            "compression_level": None,
            "row_group_rows": 1_000_000,
            "source_prefix": None,
            "target_size_mb": 128.0,
        }
        assert (doc["min_event_dt"], doc["max_event_dt"]) == ("2024-01-01", "2024-01-03")
        assert doc["created_at"] == TS
        assert (doc["seed"], doc["config_fingerprint"], doc["generator_version"]) == (
            42,
            "fp-abc",
            "0.1.0",
        )
        assert (doc["partition"], doc["table"], doc["total_rows"]) == (
            "ingest_dt=2024-01-02",
            "orders",
            10,
        )
        assert doc["schema_version"] == "0.1.0"
        assert PartitionManifest.from_json(text).to_json() == text

    def test_tiny_target_splits_into_several_files(self, loc: LakeLocation) -> None:
        data = _orders(10)
        options = ParquetOptions(target_size_mb=_tiny_target(data, 3))
        manifest = _write(loc, data, parquet=options)
        names = [f.path.rsplit("/", 1)[-1] for f in manifest.files]
        assert names == [f"part-{i:05d}.parquet" for i in range(4)]
        assert [f.rows for f in manifest.files] == [3, 3, 3, 1]
        paths = [os.path.join(loc.root, f.path) for f in manifest.files]
        back = pa.concat_tables([pq.read_table(p) for p in paths])
        assert back.select(data.column_names).equals(data)  # row order is preserved
        for f in manifest.files:
            assert f.checksum == hashlib.sha256(read_bytes(loc, f.path)).hexdigest()

    def test_source_file_names_each_part(self, loc: LakeLocation) -> None:
        data = _orders(4)
        lineage = Lineage("b", TS, source_prefix="gs://bucket/ecom/raw/")
        manifest = _write(
            loc, data, lineage=lineage, parquet=ParquetOptions(target_size_mb=_tiny_target(data, 2))
        )
        for f in manifest.files:
            back = pq.read_table(os.path.join(loc.root, f.path))
            assert back.column_names[-1] == "source_file"
            assert set(back.column("source_file").to_pylist()) == {f"gs://bucket/ecom/raw/{f.path}"}

    def test_success_is_removed_first_and_written_last(
        self, loc: LakeLocation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _write(loc, _orders(6))
        calls: list[tuple[str, str]] = []

        def record_write(location: LakeLocation, rel: str, data: bytes) -> None:
            calls.append(("write", rel.rsplit("/", 1)[-1]))
            write_bytes(location, rel, data)

        def record_remove(location: LakeLocation, rel: str) -> None:
            calls.append(("remove", rel.rsplit("/", 1)[-1]))
            remove(location, rel)

        monkeypatch.setattr(sink_module, "write_bytes", record_write)
        monkeypatch.setattr(sink_module, "remove", record_remove)
        _write(loc, _orders(6), parquet=ParquetOptions(target_size_mb=_tiny_target(_orders(6), 4)))
        assert calls == [
            ("remove", "_SUCCESS"),
            ("write", "part-00000.parquet"),
            ("write", "part-00001.parquet"),
            ("write", "_MANIFEST.json"),
            ("write", "_SUCCESS"),
        ]

    def test_rewrite_with_fewer_rows_removes_stale_parts(self, loc: LakeLocation) -> None:
        big = _orders(10)
        _write(loc, big, parquet=ParquetOptions(target_size_mb=_tiny_target(big, 2)))
        assert len([n for n in list_dir(loc, PART_DIR) if n.startswith("part-")]) == 5
        write_bytes(loc, f"{PART_DIR}/part-0000.parquet", b"older tool")
        write_bytes(loc, f"{PART_DIR}/.part-00001.parquet.tmp-99999", b"crashed")
        write_bytes(loc, f"{PART_DIR}/hook_summary.txt", b"not ours")
        manifest = _write(loc, _orders(3))
        assert list_dir(loc, PART_DIR) == [
            "_MANIFEST.json",
            "_SUCCESS",
            "hook_summary.txt",
            "part-00000.parquet",
        ]
        assert manifest.total_rows == 3

    def test_same_input_gives_identical_bytes(self, tmp_path: Path) -> None:
        data = _orders(50)
        options = ParquetOptions(target_size_mb=_tiny_target(data, 20))
        lineage = Lineage("b", TS, source_prefix="s3://bkt/raw")
        roots = [resolve_target(str(tmp_path / name)) for name in ("a", "b")]
        for root in roots:
            _write(root, data, parquet=options, lineage=lineage)
        names = list_dir(roots[0], PART_DIR)
        assert names == list_dir(roots[1], PART_DIR)
        for name in names:
            rel = f"{PART_DIR}/{name}"
            assert read_bytes(roots[0], rel) == read_bytes(roots[1], rel), name

    def test_traversal_value_rejected_before_writing(self, loc: LakeLocation) -> None:
        with pytest.raises(ConfigError, match="must not contain"):
            write_partition(
                loc,
                "orders",
                "ingest_dt",
                "../../etc",
                _orders(1),
                pk_columns=["order_id"],
                event_date_column=None,
                lineage=LINEAGE,
                parquet=ParquetOptions(),
                identity=IDENTITY,
            )
        assert not os.path.exists(loc.root)

    def test_empty_table_is_refused(self, loc: LakeLocation) -> None:
        with pytest.raises(ValueError, match="empty"):
            _write(loc, _orders(0))
        assert list_dir(loc, PART_DIR) == []

    def test_timestamp_event_column_and_no_event_column(self, loc: LakeLocation) -> None:
        ts = [dt.datetime(2024, 1, 2, 23, 59), dt.datetime(2024, 1, 2, 0, 1)]
        data = pa.table({"order_id": ["A", "B"], "created_at": pa.array(ts, pa.timestamp("us"))})
        manifest = _write(loc, data, event_date_column="created_at")
        assert (manifest.min_event_dt, manifest.max_event_dt) == ("2024-01-02", "2024-01-02")
        manifest = _write(loc, data, event_date_column=None)
        assert (manifest.min_event_dt, manifest.max_event_dt) == (None, None)

    def test_storage_failure_becomes_commit_error(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_bytes(b"x")
        with pytest.raises(CommitError, match="orders/ingest_dt=2024-01-02"):
            _write(resolve_target(str(blocker)), _orders(2))


class TestIsCommitted:
    def test_true_after_write(self, loc: LakeLocation) -> None:
        _write(loc, _orders(3))
        assert is_committed(loc, "orders", "ingest_dt", "2024-01-02", IDENTITY)

    def test_false_when_missing_or_other_run(self, loc: LakeLocation) -> None:
        assert not is_committed(loc, "orders", "ingest_dt", "2024-01-02", IDENTITY)
        _write(loc, _orders(3))
        other_seed = RunIdentity(7, "fp-abc", "0.1.0")
        other_config = RunIdentity(42, "fp-other", "0.1.0")
        assert not is_committed(loc, "orders", "ingest_dt", "2024-01-02", other_seed)
        assert not is_committed(loc, "orders", "ingest_dt", "2024-01-02", other_config)
        other_version = RunIdentity(42, "fp-abc", "9")  # a new generator may render differently
        assert not is_committed(loc, "orders", "ingest_dt", "2024-01-02", other_version)

    def test_false_without_success_or_with_bad_manifest(self, loc: LakeLocation) -> None:
        _write(loc, _orders(3))
        write_bytes(loc, f"{PART_DIR}/_MANIFEST.json", b"{not json")
        assert not is_committed(loc, "orders", "ingest_dt", "2024-01-02", IDENTITY)
        _write(loc, _orders(3))
        remove(loc, f"{PART_DIR}/_SUCCESS")
        assert not is_committed(loc, "orders", "ingest_dt", "2024-01-02", IDENTITY)


class TestParquet:
    def test_split_rows_covers_all_rows_in_order(self) -> None:
        data = _orders(10)
        spans = split_rows(data, _tiny_target(data, 4))
        assert spans == [(0, 4), (4, 4), (8, 2)]
        assert split_rows(data, 128) == [(0, 10)]
        assert split_rows(data, 1e-9) == [(i, 1) for i in range(10)]
        assert split_rows(_orders(0), 1) == []

    def test_split_depends_on_values_not_buffer_layout(self) -> None:
        data = _orders(40)
        sliced = pa.concat_tables([_orders(5), data]).slice(5)  # same values, other buffers
        ids = data.column("order_id").combine_chunks()
        all_valid = pa.py_buffer(b"\xff" * 8)  # an explicit validity bitmap: same values
        _, offsets, values = ids.buffers()
        ids_with_bitmap = pa.Array.from_buffers(ids.type, len(ids), [all_valid, offsets, values])
        with_bitmap = data.set_column(0, "order_id", ids_with_bitmap)
        target = _tiny_target(data, 7)
        assert split_rows(sliced, target) == split_rows(data, target)
        assert split_rows(with_bitmap, target) == split_rows(data, target)
        assert sliced.nbytes != data.nbytes or with_bitmap.nbytes != data.nbytes

    def test_one_file_shortcut_never_changes_a_split(self) -> None:
        """Targets around the one-file edge split as the value-bytes formula says."""
        data = pa.concat_tables([_orders(5), _orders(40)]).slice(5)
        per_row = -(-value_bytes(data) // data.num_rows)
        for rows_per_file in range(30, 90):
            target = rows_per_file * per_row / 1_048_576
            expected = [(s, min(rows_per_file, 40 - s)) for s in range(0, 40, rows_per_file)]
            assert split_rows(data, target) == expected

    def test_encode_is_deterministic_and_pinned(self) -> None:
        data = _orders(20)
        options = ParquetOptions(compression="zstd", compression_level=3, row_group_rows=8)
        blob = encode_parquet(data, options)
        assert blob == encode_parquet(data, options)
        meta = pq.read_metadata(pa.BufferReader(blob))
        assert meta.num_row_groups == 3
        assert meta.row_group(0).column(0).compression == "ZSTD"
        assert meta.row_group(0).column(0).statistics is not None

    def test_dictionaries_only_where_values_repeat(self) -> None:
        """Keys, event_id, timestamps and floats are written plain; the rest get a dictionary."""
        data = _orders(50).append_column("paid_at", pa.array([dt.datetime(2024, 1, 1)] * 50))
        data = data.append_column("net_total", pa.array([1.5] * 50))
        data = apply_lineage(data, "orders", ("order_id",), LINEAGE, "p.parquet")
        blob = encode_parquet(data, ParquetOptions(), ["order_id"])
        group = pq.read_metadata(pa.BufferReader(blob)).row_group(0)
        dictionary = {
            group.column(i).path_in_schema
            for i in range(group.num_columns)
            if "RLE_DICTIONARY" in group.column(i).encodings
        }
        assert {"customer_id", "order_date", "total_cents", "batch_id"} <= dictionary
        assert not {"order_id", "event_id", "paid_at", "net_total"} & dictionary

    def test_contact_text_is_written_plain(self) -> None:
        """Emails, phones and addresses are next to unique per customer: no dictionary; the
        names, which repeat, keep theirs."""
        n = 40
        columns = {name: [f"{name}-{i}" for i in range(n)] for name in NEARLY_UNIQUE_TEXT}
        columns["first_name"] = ["Ann", "Bo"] * (n // 2)
        columns["customer_id"] = [f"CUST-{i:04d}" for i in range(n)]
        blob = encode_parquet(pa.table(columns), ParquetOptions(), ["customer_id"])
        group = pq.read_metadata(pa.BufferReader(blob)).row_group(0)
        dictionary = {
            group.column(i).path_in_schema
            for i in range(group.num_columns)
            if "RLE_DICTIONARY" in group.column(i).encodings
        }
        assert dictionary == {"first_name"}

    @pytest.mark.parametrize(
        ("kwargs", "field", "rule"),
        [
            ({"compression": "lzo"}, "compression", "must be one of zstd, snappy"),
            ({"target_size_mb": 0}, "target_size_mb", "must be > 0"),
            ({"compression": "snappy", "compression_level": 3}, "compression_level", "not "),
            ({"compression": "gzip", "compression_level": 99}, "compression_level", "must be"),
        ],
    )
    def test_options_validation(self, kwargs: dict, field: str, rule: str) -> None:
        """The library names the field, the CLI its flag."""
        with pytest.raises(OptionError) as caught:
            ParquetOptions(**kwargs)
        assert str(caught.value).startswith(f"ParquetOptions.{field}: {rule}")
        assert cli_message(caught.value).startswith(f"{flag(field)}: {rule}")

    def test_row_group_rows_has_no_flag(self) -> None:
        with pytest.raises(ConfigError, match=r"^row_group_rows: must be >= 1"):
            ParquetOptions(row_group_rows=0)

    def test_options_normalise_case(self) -> None:
        assert ParquetOptions(compression="NONE").compression == "none"


class TestManifestAndFs:
    def test_from_json_reads_older_tool_manifest(self) -> None:
        older = {
            "batch_id": "b",
            "checksums": ["c1"],
            "created_at": TS,
            "files": [
                {
                    "checksum": "c1",
                    "path": "orders/ingest_dt=2026-11-29/part-0000.parquet",
                    "rows": 5,
                }
            ],
            "generator_version": None,
            "max_event_dt": "2026-11-29",
            "min_event_dt": "2026-11-29",
            "partition": "ingest_dt=2026-11-29",
            "schema_version": "0.1.0",
            "table": "orders",
            "total_rows": 5,
        }
        manifest = PartitionManifest.from_json(json.dumps(older))
        assert manifest.files == (ManifestFile(older["files"][0]["path"], 5, "c1"),)
        assert (manifest.seed, manifest.config_fingerprint, manifest.generator_version) == (
            None,
            None,
            None,
        )
        with pytest.raises(StorageError, match="missing"):
            PartitionManifest.from_json("{}")

    def test_resolve_target_schemes(self, tmp_path: Path) -> None:
        assert resolve_target(f"file://{tmp_path}").root == str(tmp_path)
        assert resolve_target(str(tmp_path)).is_local
        with pytest.raises(OptionError, match=r"^target: unsupported scheme 'ftp' \(use a local"):
            resolve_target("ftp://host/x")
        for typo, meant in (("s3:/b/x", "s3://b/x"), ("gs:b", "gs://b"), ("GCS:/b/", "GCS://b/")):
            with pytest.raises(OptionError, match=f"did you mean '{meant}'"):
                resolve_target(typo)
        assert resolve_target(str(tmp_path / "s3:x")).is_local  # a folder named so, deeper down

    def test_local_fs_operations(self, loc: LakeLocation) -> None:
        write_bytes(loc, "a/b/c.bin", b"123")
        assert read_bytes(loc, "a/b/c.bin") == b"123"
        assert list_dir(loc, "a/b") == ["c.bin"]  # no temp file left behind
        assert list_dir(loc, "missing") == []
        remove(loc, "a/b/c.bin")
        remove(loc, "a/b/c.bin")  # idempotent
        with pytest.raises(StorageError, match="read failed"):
            read_bytes(loc, "a/b/c.bin")
        with pytest.raises(ValueError):
            write_bytes(loc, "../escape", b"")
