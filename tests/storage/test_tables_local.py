"""Iceberg and Delta lakes on local disk hold exactly the Parquet lake's rows, commit each day
once, resume after an interruption and refuse an unusable catalog before writing anything."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from ecomlake.api import generate
from ecomlake.errors import ConfigError
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.run.executors import RunProgress
from ecomlake.tables import TableOptions

from .lakes import BATCH_ID, END, INGESTION_TS, START, tiny_config, world_args, world_options
from .tables_readers import canonical, catalog, commit_counts, delta_rows, hive_rows, iceberg_rows

FORMATS = ("iceberg", "delta")


def written_tables(target) -> list[str]:
    """The tables some day of the small world has rows of (orders come on a few days only)."""
    return [t for t in TABLE_NAMES if any(Path(target, t).glob("*/*.parquet"))]


def rows(fmt: str, target: str, table: str):
    if fmt == "iceberg":
        return iceberg_rows(catalog(target), table)
    return delta_rows(target, table)


def make(target, fmt: str, **overrides):
    options = world_options(str(target), tables=TableOptions(fmt), **overrides)
    result = generate(tiny_config(), options)
    return result


def add_uncommitted_day(target: Path, beside: Path) -> None:
    """A later day in the lake that its tables never got, as a run killed between its writes and
    its commit leaves it: written as plain Parquet beside the lake, then copied in (a run in
    another format than the lake's is refused)."""
    assert make(beside, "parquet", dates=(END,), start_date=None, end_date=None).ok
    shutil.copytree(beside, target, dirs_exist_ok=True)


@pytest.fixture(scope="module")
def parquet_lake(tmp_path_factory):
    target = tmp_path_factory.mktemp("parquet") / "lake"
    assert make(target, "parquet").ok
    return target


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_table_lake_holds_the_parquet_lakes_rows_and_a_rerun_adds_nothing(
    tmp_path, parquet_lake, fmt
):
    target = str(tmp_path / fmt)
    assert make(target, fmt).ok
    for table in written_tables(parquet_lake):
        assert canonical(rows(fmt, target, table)) == canonical(
            hive_rows(str(parquet_lake), table)
        ), table
    cat = catalog(target) if fmt == "iceberg" else None
    before = commit_counts(fmt, target, cat)
    assert make(target, fmt).ok
    assert commit_counts(fmt, target, cat) == before
    assert canonical(rows(fmt, target, "customers")) == canonical(hive_rows(target, "customers"))


@pytest.mark.slow
def test_polars_reads_both_formats(tmp_path, parquet_lake):
    expected = hive_rows(str(parquet_lake), "shopping_carts").num_rows
    assert make(tmp_path / "i", "iceberg").ok and make(tmp_path / "d", "delta").ok
    table = catalog(str(tmp_path / "i")).load_table(("ecomlake", "shopping_carts"))
    from_iceberg = pl.scan_iceberg(table).collect()
    from_delta = pl.read_delta(str(tmp_path / "d" / "shopping_carts"))
    assert from_iceberg.height == from_delta.height == expected
    assert from_iceberg["ingest_dt"].dtype == from_delta["ingest_dt"].dtype == pl.Date
    assert sorted(from_iceberg["cart_id"].to_list()) == sorted(from_delta["cart_id"].to_list())


class StopAfter(Exception):
    """Ends a run as a crash would, after some days were committed."""


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_interrupted_run_resumes_to_the_uninterrupted_tables(tmp_path, parquet_lake, fmt):
    target = str(tmp_path / fmt)
    seen = []

    def crash(outcome, planned):
        seen.append(outcome.day)
        if len(seen) == 4:
            raise StopAfter

    with pytest.raises(StopAfter):
        options = world_options(target, tables=TableOptions(fmt))
        generate(tiny_config(), options, RunProgress(day_done=crash))
    assert make(target, fmt).ok
    for table in written_tables(parquet_lake):
        assert canonical(rows(fmt, target, table)) == canonical(
            hive_rows(str(parquet_lake), table)
        ), table


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_daily_run_adds_one_commit_per_table(tmp_path, fmt):
    target = str(tmp_path / fmt)
    days = tuple(START + dt.timedelta(days=i) for i in range(5))
    window = {"start_date": None, "end_date": None}  # --dates takes the YAML's window
    assert make(target, fmt, dates=days, **window).ok
    cat = catalog(target) if fmt == "iceberg" else None
    before = commit_counts(fmt, target, cat)
    daily = make(target, fmt, dates=(END,), **window)
    assert daily.ok
    after = commit_counts(fmt, target, cat)
    rendered = {t for r in daily.results for t, _ in r.committed}
    assert rendered  # the day wrote partitions
    assert {t: after[t] - before[t] for t in rendered} == dict.fromkeys(rendered, 1)
    assert all(after[t] == before[t] for t in TABLE_NAMES if t not in rendered)
    day_rows = rows(fmt, target, "shopping_carts").to_pandas()
    assert (day_rows["ingest_dt"].astype(str) == END.isoformat()).any()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ecomlake", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--catalog-uri", "ftp://x"), "--catalog-uri: 'ftp://x' is not a catalog URI"),
        (("--catalog-uri", "sqlite:////no/such/dir/c.db"), "--catalog-uri: cannot open catalog"),
        (("--catalog-uri", "http://127.0.0.1:9"), "--catalog-uri: cannot open catalog"),
        (("--catalog-option", "type=rest"), "--catalog-option: type=rest needs --catalog-uri"),
        (("--format", "orc"), "--format: must be one of parquet, iceberg, delta"),
    ],
)
def test_a_bad_catalog_is_one_line_and_writes_nothing(tmp_path, extra, message):
    target = tmp_path / "lake"
    fmt = () if "--format" in extra else ("--format", "iceberg")
    done = run_cli(*world_args(str(target), *fmt, *extra))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and message in done.stderr
    assert not target.exists()


def test_catalog_uri_without_iceberg_is_refused():
    with pytest.raises(Exception, match="only an Iceberg lake has a catalog"):
        dataclasses.replace(TableOptions("delta"), catalog_uri="sqlite:///x.db")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_verify_checks_the_tables_against_the_manifests(tmp_path, fmt):
    from ecomlake.verify.report import verify_lake

    target = tmp_path / fmt
    window = {"start_date": None, "end_date": None}
    assert make(target, fmt, dates=(START,), **window).ok
    assert not [v for v in verify_lake(str(target)).manifest_violations]
    before = set(written_tables(target))
    add_uncommitted_day(target, tmp_path / "beside")
    found = verify_lake(str(target)).manifest_violations
    assert {v.check for v in found} - {"tables.no_metadata"} == {"tables.file_not_in_table"}
    new_tables = set(written_tables(target)) - before  # the day's first rows of a table
    assert {v.detail.split(":")[0] for v in found if v.check == "tables.no_metadata"} == new_tables


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_overwrite_with_another_seed_replaces_the_tables(tmp_path, fmt):
    target = tmp_path / fmt
    days = {"dates": (START,), "start_date": None, "end_date": None}
    assert make(target, fmt, seed=1, **days).ok
    assert make(target, fmt, seed=2, overwrite=True, **days).ok
    for table in written_tables(target):
        assert canonical(rows(fmt, str(target), table)) == canonical(
            hive_rows(str(target), table)
        ), table


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_repair_commits_to_the_tables_and_verify_passes(tmp_path, fmt):
    from ecomlake.api import repair
    from ecomlake.verify.report import verify_lake

    target = tmp_path / fmt
    window = {"start_date": None, "end_date": None}
    assert make(target, fmt, dates=(START,), **window).ok
    add_uncommitted_day(target, tmp_path / "beside")  # and then a damaged file
    damaged = sorted(target.glob("shopping_carts/*/part-*.parquet"))[0]
    clean = damaged.read_bytes()
    damaged.write_bytes(clean[:100])
    result = repair(world_options(str(target)))
    assert result.ok, result
    assert result.repaired == [damaged.parent.relative_to(target).as_posix()]
    assert damaged.read_bytes() == clean
    assert not verify_lake(str(target)).manifest_violations
    for table in written_tables(target):
        assert canonical(rows(fmt, str(target), table)) == canonical(
            hive_rows(str(target), table)
        ), table
    other = TableOptions("delta" if fmt == "iceberg" else "iceberg")
    with pytest.raises(ConfigError, match=f"TableOptions.format: {other.format} given, but the"):
        repair(world_options(str(target), tables=other))


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory):
    """run-generator output of the small world's days (the CSVs export-raw reads)."""
    from ecomlake.trio.raw_run import RawRunOptions, run_generator

    root = tmp_path_factory.mktemp("artifacts")
    options = RawRunOptions(artifact_root=str(root), start_date=START, end_date=END)
    return run_generator(tiny_config(), options).run_dir


def export_args(raw_dir, target, *extra: str) -> list[str]:
    lineage = ("--batch-id", BATCH_ID, "--ingestion-ts", INGESTION_TS)
    return ["export-raw", "--source", str(raw_dir), "--target", str(target), *lineage, *extra]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_raw_gives_the_tables_generate_gives(tmp_path, raw_run, fmt):
    from ecomlake.cli.app import run

    generated, exported = tmp_path / "generated", tmp_path / "exported"
    assert make(generated, fmt).ok
    assert run(export_args(raw_run, exported, "--format", fmt)) == 0
    tables = written_tables(generated)
    assert tables == written_tables(exported)
    for table in tables:
        assert canonical(rows(fmt, str(exported), table)) == canonical(
            rows(fmt, str(generated), table)
        ), table
    cat = catalog(str(exported)) if fmt == "iceberg" else None
    counts = commit_counts(fmt, str(exported), cat)
    assert {counts[t] for t in tables} == {1}  # one commit per exported table
    assert run(export_args(raw_run, exported, "--format", fmt)) == 0
    assert commit_counts(fmt, str(exported), cat) == counts  # the same bytes: nothing to commit


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--format", "orc"), "--format: must be one of parquet, iceberg, delta"),
        (("--format", "delta", "--catalog-uri", "sqlite:///c.db"), "only an Iceberg lake has"),
        (("--format", "iceberg", "--catalog-uri", "ftp://x"), "'ftp://x' is not a catalog URI"),
    ],
)
def test_export_raw_refuses_a_bad_format_before_writing(tmp_path, capsys, raw_run, extra, message):
    from ecomlake.cli.app import run

    assert run(export_args(raw_run, tmp_path / "lake", *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "lake").exists()


@pytest.mark.slow
def test_a_run_in_another_format_is_refused_before_writing(tmp_path):
    """An Iceberg lake written again as Delta, or as plain Parquet (which would leave the new
    files out of its tables), or with --overwrite: one line naming the format, nothing written."""
    target = tmp_path / "lake"
    assert make(target, "iceberg").ok
    before = sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())
    for fmt, extra in (("delta", {}), ("parquet", {}), ("delta", {"overwrite": True})):
        with pytest.raises(
            ConfigError, match=f"format: {fmt} given, but the lake's tables are ice"
        ):
            make(target, fmt, end_date=END + dt.timedelta(days=1), **extra)
    assert sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file()) == before
    args = world_args(str(target), "--format", "delta", "--overwrite", "--log-level", "error")
    done = subprocess.run(
        [sys.executable, "-m", "ecomlake", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: --format: delta given, but the lake's tables are iceberg;")
    ), done.stderr
