"""PartitionSink: which partitions stay, the repair's own lineage, and the stages it reports."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from ecomlake.lake import (
    LakeLocation,
    ParquetOptions,
    PartitionSink,
    PartitionWrite,
    RunIdentity,
    resolve_target,
)
from ecomlake.lineage import Lineage

WRITE = PartitionWrite(Lineage("run", "2024-04-01T00:00:00+00:00"), ParquetOptions())
IDENTITY = RunIdentity(7, "fp", "0.1.0")
DIR = "orders/ingest_dt=2024-01-02"


def _rows(n: int = 5) -> pa.Table:
    dates = pa.array([dt.date(2024, 1, 2)] * n, pa.date32())
    return pa.table({"order_id": [f"O{i}" for i in range(n)], "order_date": dates})


def _commit(sink: PartitionSink, value: str = "2024-01-02"):
    return sink.commit(
        "orders",
        "ingest_dt",
        value,
        _rows(),
        pk_columns=["order_id"],
        event_date_column="order_date",
    )


@pytest.fixture
def loc(tmp_path: Path) -> LakeLocation:
    return resolve_target(str(tmp_path / "lake"))


def test_resume_keeps_only_what_this_identity_committed(loc):
    assert not PartitionSink(loc, IDENTITY, WRITE, skip_committed=True).keeps(DIR)
    _commit(PartitionSink(loc, IDENTITY, WRITE))
    assert PartitionSink(loc, IDENTITY, WRITE, skip_committed=True).keeps(DIR)
    other = RunIdentity(8, "fp", "0.1.0")
    assert not PartitionSink(loc, other, WRITE, skip_committed=True).keeps(DIR)
    assert not PartitionSink(loc, IDENTITY, WRITE).keeps(DIR)  # --overwrite rewrites it


def test_repair_writes_only_the_damaged_with_their_own_lineage(loc, tmp_path):
    original = PartitionWrite(Lineage("old", "2023-01-01T00:00:00+00:00"), ParquetOptions())
    sink = PartitionSink(loc, IDENTITY, WRITE, repair={DIR: original})
    assert not sink.keeps(DIR) and sink.keeps("orders/ingest_dt=2024-01-03")
    assert _commit(sink, "2024-01-03") is None  # undamaged: left alone
    assert not (tmp_path / "lake/orders/ingest_dt=2024-01-03").exists()
    manifest = _commit(sink)
    assert manifest is not None and manifest.batch_id == "old"
    body = json.loads((tmp_path / "lake" / DIR / "_MANIFEST.json").read_text())
    assert body["created_at"] == "2023-01-01T00:00:00+00:00"


def test_a_damaged_defect_log_makes_its_partition_a_repair(loc):
    log_dir = "_defects/ingest_dt=2024-01-02"
    sink = PartitionSink(loc, IDENTITY, WRITE, repair={log_dir: WRITE})
    assert sink.keeps(DIR) and not sink.keeps(DIR, [log_dir])


class _Clock:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def stage(self, name: str, table: str):
        self.seen.append((name, table))
        yield


def test_stages_parts_and_seconds_are_reported(loc, tmp_path):
    clock, parts = _Clock(), []
    sink = PartitionSink(
        loc, IDENTITY, WRITE, clock=clock, on_part=lambda path, rows, data: parts.append(path)
    )
    _commit(sink)
    assert {name for name, _ in clock.seen} == {"lineage", "encode", "write", "commit"}
    assert parts == [f"{DIR}/part-00000.parquet"] and sink.seconds > 0
    assert (tmp_path / "lake" / DIR / "_SUCCESS").exists()
