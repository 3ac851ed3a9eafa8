"""export-raw's date options (one way at a time, conflicts are errors) and every bad-input case:
exit 2, one line naming the flag, nothing written."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from trio_helpers import one_line_error

from ecomlake.cli.app import run
from ecomlake.errors import ConfigError
from ecomlake.run.window import DayChoice


def _export(source: Path, target: Path | str, *args: str) -> list[str]:
    return ["export-raw", "--source", str(source), "--target", str(target), *args]


def _cart_dates(lake: Path) -> list[str]:
    return sorted(p.name.split("=")[1] for p in (lake / "shopping_carts").iterdir())


DATE_CASES = [
    (["--ingest-date", "2024-01-05"], ["2024-01-05"]),
    (["--start-date", "2024-01-05", "--end-date", "2024-01-07"], ["2024-01-05", "2024-01-06", "2024-01-07"]),
    (["--start-date", "2024-01-05", "--days", "2"], ["2024-01-05", "2024-01-06"]),
    (["--start-date", "2024-01-05"], ["2024-01-05"]),
    (["--dates", "2024-01-07,2024-01-05,2024-01-07"], ["2024-01-05", "2024-01-07"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "expected"), DATE_CASES)
def test_date_options_select_partitions(tmp_path, raw_dir, args, expected):
    target = tmp_path / "lake"
    assert run(_export(raw_dir, target, "--table", "shopping_carts", *args)) == 0
    assert _cart_dates(target) == expected


def test_no_date_option_exports_every_date_in_the_source(tmp_path, raw_dir):
    target = tmp_path / "lake"
    assert run(_export(raw_dir, target, "--table", "shopping_carts")) == 0
    body = json.loads((raw_dir / "_run.json").read_text())
    assert _cart_dates(target) == body["days"]


def test_export_dates_alone():
    day = dt.date(2024, 1, 5)
    assert DayChoice("ExportOptions").alone() is None
    assert DayChoice("ExportOptions", day, days=3).alone()[-1] == dt.date(2024, 1, 7)
    rule = "^ExportOptions.ingest_date: cannot be combined with ExportOptions.end_date$"
    with pytest.raises(ConfigError, match=rule):
        DayChoice("ExportOptions", end_date=day, ingest_date=day)


DATE_ERRORS = [
    (["--dates", "2024-01-05", "--start-date", "2024-01-05"], "--dates: cannot be combined"),
    (["--ingest-date", "2024-01-05", "--dates", "2024-01-06"], "--dates: cannot be combined"),
    (["--dates", "2024-01-05", "--days", "2"], "--dates: cannot be combined"),
    (["--ingest-date", "2024-01-05", "--start-date", "2024-01-05"], "--ingest-date: cannot be combined"),
    (["--ingest-date", "2024-01-05", "--days", "2"], "--ingest-date: cannot be combined"),
    (["--end-date", "2024-01-05"], "--end-date: needs --start-date"),
    (["--days", "3"], "--days: needs --start-date"),
    (["--start-date", "2024-01-05", "--days", "0"], "--days: must be at least 1"),
    (["--start-date", "2024-01-05", "--end-date", "2024-01-06", "--days", "2"], "--days: cannot be combined"),
    (["--start-date", "2024-01-05", "--end-date", "2024-01-02"], "--start-date: must be on or before --end-date"),
    (["--ingest-date", "2024-13-01"], "--ingest-date: invalid date '2024-13-01'"),
    (["--dates", " , "], "--dates: give at least one date"),
]  # fmt: skip

FLAG_ERRORS = [
    (["--table", "bogus"], "--table: unknown table 'bogus'"),
    (["--batch-id", "../x"], "--batch-id: use letters, digits"),
    (["--ingestion-ts", "yesterday"], "--ingestion-ts: must be an ISO timestamp"),
    (["--target-size-mb", "0"], "--target-size-mb: must be > 0"),
    (["--storage-option", "novalue"], "--storage-option: expected key=value"),
    (["--lookups-from", "/no/such/dir"], "--lookups-from: /no/such/dir is not a directory"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), DATE_ERRORS + FLAG_ERRORS)
def test_bad_input_exit_2_one_line_nothing_written(tmp_path, raw_dir, capsys, args, message):
    target = tmp_path / "lake"
    assert run(_export(raw_dir, target, *args)) == 2
    assert message in one_line_error(capsys)
    assert not target.exists()


def test_unsupported_target_scheme(tmp_path, raw_dir, capsys):
    assert run(_export(raw_dir, "ftp://host/lake")) == 2
    assert "--target: unsupported scheme 'ftp'" in one_line_error(capsys)


class TestSourceErrors:
    def test_missing_source(self, tmp_path, capsys):
        assert run(["export-raw", "--target", str(tmp_path / "lake")]) == 2
        assert "--source: required" in one_line_error(capsys)
        assert run(_export(tmp_path / "nope", tmp_path / "lake")) == 2
        assert "is not a directory" in one_line_error(capsys)
        assert not (tmp_path / "lake").exists()

    def test_table_asked_for_but_absent(self, tmp_path, raw_dir, capsys):
        source = tmp_path / "src"
        shutil.copytree(raw_dir, source)
        (source / "orders.csv").unlink()
        assert run(_export(source, tmp_path / "lake", "--table", "orders")) == 2
        assert "--table: orders was asked for" in one_line_error(capsys)
        assert run(_export(source, tmp_path / "lake", "--table", "order_items")) == 2
        assert "order_items.csv needs orders.csv" in one_line_error(capsys)
        assert not (tmp_path / "lake").exists()

    def test_csv_with_an_unknown_column(self, tmp_path, raw_dir, capsys):
        source = tmp_path / "src"
        shutil.copytree(raw_dir, source)
        path = source / "returns.csv"
        path.write_text(path.read_text().replace('"return_id"', '"rma_id"', 1))
        assert run(_export(source, tmp_path / "lake", "--table", "returns")) == 2
        assert "unknown column(s) ['rma_id']" in one_line_error(capsys)

    def test_lookups_of_another_world(self, tmp_path, raw_dir, capsys):
        other = tmp_path / "other"
        shutil.copytree(raw_dir, other)
        body = json.loads((other / "_run.json").read_text())
        (other / "_run.json").write_text(json.dumps({**body, "seed": 1}))
        assert run(_export(raw_dir, tmp_path / "lake", "--lookups-from", str(other))) == 2
        assert "--lookups-from:" in (err := one_line_error(capsys)) and "another world" in err
        assert not (tmp_path / "lake").exists()

    def test_target_holding_another_lake(self, tmp_path, raw_dir, capsys):
        target = tmp_path / "lake"
        target.mkdir()
        other = {
            "seed": 1,
            "config_fingerprint": "f" * 64,
            "generator_version": "0.1.0",
            "world_start": "2024-01-01",
            "world_end": "2024-03-31",
        }
        (target / "_lake.json").write_text(json.dumps(other))
        assert run(_export(raw_dir, target)) == 2
        assert "--target:" in (err := one_line_error(capsys)) and "another config" in err
        assert sorted(p.name for p in target.iterdir()) == ["_lake.json"]
