"""`--overwrite` of the same world on an Iceberg or Delta lake rewrites data files in place, so
the tables start afresh: every snapshot (each version) reads the bytes it was committed with,
the rows carry the new batch, and days the overwrite did not render stay in the tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from ecomlake.api import generate
from ecomlake.errors import OptionError
from ecomlake.tables import TableOptions
from ecomlake.verify.report import verify_lake

from .lakes import START, tiny_config, world_options
from .tables_readers import (
    canonical,
    catalog,
    commit_counts,
    delta_rows,
    hive_rows,
    iceberg_rows,
)

DAYS = {"start_date": START, "end_date": START + dt.timedelta(days=2)}
TABLES = ("shopping_carts", "customers")


def _run(lake: Path, fmt: str, batch: str, **extra) -> None:
    fields = {**DAYS, "batch_id": batch, **extra}
    options = world_options(str(lake), tables=TableOptions(fmt), **fields)
    result = generate(tiny_config(), options)
    assert result.ok, result.failures


def _table_rows(lake: Path, fmt: str, table: str):
    return (
        iceberg_rows(catalog(str(lake)), table)
        if fmt == "iceberg"
        else delta_rows(str(lake), table)
    )


def _every_version_reads(lake: Path, fmt: str, table: str) -> list[set[str]]:
    """The batch ids each snapshot (version) of the table reads, oldest first."""
    if fmt == "iceberg":
        loaded = catalog(str(lake)).load_table(("ecomlake", table))
        scans = [loaded.scan(snapshot_id=s.snapshot_id) for s in loaded.snapshots()]
        return [set(scan.to_arrow().column("batch_id").to_pylist()) for scan in scans]
    delta = DeltaTable(str(lake / table))
    found = []
    for version in range(delta.version() + 1):
        delta.load_as_version(version)
        found.append(set(delta.to_pyarrow_table().column("batch_id").to_pylist()))
    return found


@pytest.mark.parametrize("fmt", ["iceberg", "delta"])
def test_overwrite_starts_the_tables_afresh(tmp_path, fmt):
    lake, fresh = tmp_path / "lake", tmp_path / "fresh"
    _run(lake, fmt, "first")
    _run(lake, fmt, "second", overwrite=True)
    _run(fresh, fmt, "second")
    cats = [catalog(str(root)) if fmt == "iceberg" else None for root in (lake, fresh)]
    assert commit_counts(fmt, str(lake), cats[0]) == commit_counts(fmt, str(fresh), cats[1])
    for table in TABLES:
        assert canonical(_table_rows(lake, fmt, table)) == canonical(hive_rows(str(lake), table))
        assert _every_version_reads(lake, fmt, table) == [{"second"}] * len(
            _every_version_reads(lake, fmt, table)
        )
    assert verify_lake(str(lake)).ok


@pytest.mark.parametrize("fmt", ["iceberg", "delta"])
def test_an_overwrite_of_some_days_keeps_the_others_in_the_tables(tmp_path, fmt):
    lake = tmp_path / "lake"
    _run(lake, fmt, "first")
    middle = START + dt.timedelta(days=1)
    _run(lake, fmt, "second", overwrite=True, start_date=middle, end_date=middle)
    carts = _table_rows(lake, fmt, "shopping_carts")
    assert canonical(carts) == canonical(hive_rows(str(lake), "shopping_carts"))
    day = pc.cast(carts.column("ingest_dt"), "string")
    mask = pc.equal(day, middle.isoformat())
    assert set(pc.filter(carts.column("batch_id"), mask).to_pylist()) == {"second"}
    assert set(pc.filter(carts.column("batch_id"), pc.invert(mask)).to_pylist()) == {"first"}
    assert verify_lake(str(lake)).ok


@pytest.mark.parametrize("fmt", ["iceberg", "parquet"])
def test_a_run_that_would_change_the_lineage_columns_of_some_days_is_refused(tmp_path, fmt):
    """One schema per table: `source_file` on some days only is refused before any write; an
    overwrite of every day of the lake may change it."""
    lake = tmp_path / "lake"
    _run(lake, fmt, "first")
    later = START + dt.timedelta(days=3)
    before = sorted(p for p in lake.rglob("*") if "_runs" not in p.parts)
    with pytest.raises(OptionError, match=r"^GenerateOptions.source_prefix: this run adds"):
        _run(lake, fmt, "second", source_prefix="s3://drop", start_date=later, end_date=later)
    assert sorted(p for p in lake.rglob("*") if "_runs" not in p.parts) == before
    _run(lake, fmt, "third", source_prefix="s3://drop", overwrite=True)
    assert verify_lake(str(lake)).ok
