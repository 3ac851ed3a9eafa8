"""`export-raw` of a messy run dir: the lake gets the run's level and defect log, so it verifies
as a messy lake, undoes to its clean rows and renders again byte for byte; and an export that
holds whole days records them, so verify plans it (a lake grown by export and generate)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from trio_helpers import QUICK, one_line_error

from ecomlake.api import generate, verify
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.run.driver import GenerateOptions
from ecomlake.trio.raw_run import RawRunOptions, run_generator

FIRST, LAST = dt.date(2024, 1, 8), dt.date(2024, 1, 14)  # mid-world
LEVEL = "heavy_mess"


def _run_dir(root: Path, level: str = LEVEL, **dates: dt.date) -> Path:
    window = dates or {"start_date": FIRST, "end_date": LAST}
    options = RawRunOptions(artifact_root=str(root), messiness_level=level, **window)
    return run_generator(load_config(QUICK), options).run_dir


def _export(source: Path, target: Path, *args: str) -> int:
    return run(["export-raw", "--source", str(source), "--target", str(target), *args])


def _edit_run_file(run_dir: Path, change) -> None:
    body = json.loads((run_dir / "_run.json").read_text())
    change(body)
    (run_dir / "_run.json").write_text(json.dumps(body))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def messy_dir(tmp_path_factory) -> Path:
    return _run_dir(tmp_path_factory.mktemp("messy-art"))


@pytest.fixture(scope="module")
def messy_lake(tmp_path_factory, messy_dir) -> Path:
    lake = tmp_path_factory.mktemp("messy") / "lake"
    assert _export(messy_dir, lake) == 0
    return lake


def test_the_summary_counts_the_log_partitions(messy_dir, tmp_path, capsys):
    assert _export(messy_dir, tmp_path / "lake", "--table", "orders") == 0
    written = sorted(p.name for p in (tmp_path / "lake" / "_defects").iterdir())
    assert f"  defect log: {len(written)} partition(s)" in capsys.readouterr().out


class TestAMessyExport:
    def test_the_lake_names_the_level_without_late_rows(self, messy_lake):
        record = json.loads((messy_lake / "_lake.json").read_text())["messiness"]
        assert record["name"] == LEVEL and record["late_arrival"] == 0.0
        assert record["nulls"] > 0  # the level's own rates otherwise

    def test_the_defect_log_is_in_the_lake_without_format_drift(self, messy_dir, messy_lake):
        logged = pq.read_table(messy_lake / "_defects", partitioning=None)
        kinds = set(logged.column("defect_type").to_pylist())
        assert "format_drift" in (messy_dir / "_defects.csv").read_text()  # the CSVs drifted
        assert "format_drift" not in kinds and {"duplicate", "null"} <= kinds
        days = {f"ingest_dt={FIRST + dt.timedelta(days=i)}" for i in range(7)}
        assert set(logged.column("partition").to_pylist()) <= days
        assert (messy_lake / "_defects_customers").is_dir()

    def test_it_verifies_undoes_and_renders_again_byte_for_byte(self, messy_lake):
        report = verify(str(messy_lake), against_defects=True, deep=True)
        assert report.ok, report.to_text()
        assert report.defects.matched > 300 and not report.defects.unchecked
        assert "7 day(s)" in report.planned  # the export recorded its days: the lake is planned

    def test_a_damaged_partition_is_repaired_to_the_same_bytes(self, messy_lake, tmp_path):
        lake = tmp_path / "lake"
        shutil.copytree(messy_lake, lake)
        before = _files(lake)
        for rel in ("orders/ingest_dt=2024-01-09", "_defects/ingest_dt=2024-01-09"):
            shutil.rmtree(lake / rel)
        assert run(["generate", "--target", str(lake), "--repair", "--no-progress"]) == 0
        after = _files(lake)
        assert {k: v for k, v in after.items() if not k.startswith("_runs/")} == {
            k: v for k, v in before.items() if not k.startswith("_runs/")
        }

    def test_generate_at_the_level_is_refused_it_would_add_late_rows(
        self, messy_lake, tmp_path, capsys
    ):
        lake = tmp_path / "lake"
        shutil.copytree(messy_lake, lake)
        args = ["generate", "-c", str(QUICK), "-t", str(lake), "--messiness-level", LEVEL,
                "--dates", "2024-01-15", "--executor", "in-process", "--no-progress"]  # fmt: skip
        assert run(args) == 2
        err = one_line_error(capsys)
        assert "of other rates (late_arrival 0.0 here" in err and "no late rows" in err
        assert not (lake / "orders" / "ingest_dt=2024-01-15").exists()

    def test_a_selected_date_carries_only_its_log(self, messy_dir, tmp_path):
        lake = tmp_path / "lake"
        assert _export(messy_dir, lake, "--ingest-date", "2024-01-10") == 0
        assert sorted(p.name for p in (lake / "_defects").iterdir()) == ["ingest_dt=2024-01-10"]
        report = verify(str(lake), against_defects=True)
        assert report.ok, report.to_text()
        assert not report.planned  # one day's tables, every day's customers: no day is whole


class TestAMessySourceThatCannotBeCarried:
    """Each is one line, exit 2, and nothing written."""

    @pytest.mark.parametrize("missing", ["_config.yaml", "_defects.csv"])
    def test_without_its_config_or_log(self, messy_dir, tmp_path, capsys, missing):
        source = tmp_path / "src"
        shutil.copytree(messy_dir, source)
        (source / missing).unlink()
        assert _export(source, tmp_path / "lake") == 2
        err = one_line_error(capsys)
        assert f"is a {LEVEL} run without {missing}" in err
        assert not (tmp_path / "lake").exists()

    @pytest.mark.parametrize("older", [False, True], ids=["sha256-recorded", "older-run-dir"])
    def test_an_edited_dirty_value(self, messy_dir, tmp_path, capsys, older):
        """The log claims a null the CSV does not hold (the cell was cleaned by hand): the
        log's sha256 in `_run.json` tells; a run dir without it is checked against its rows."""
        source = tmp_path / "src"
        shutil.copytree(messy_dir, source)
        lines = (source / "_defects.csv").read_text().splitlines(keepends=True)
        at = next(i for i, t in enumerate(lines) if t.startswith('"orders"') and '"null"' in t)
        lines[at] = lines[at].rstrip("\n") + '"x"\n'  # a nulled cell logged as holding "x"
        (source / "_defects.csv").write_text("".join(lines))
        if older:
            _edit_run_file(source, lambda body: body.pop("defects_sha256"))
        assert _export(source, tmp_path / "lake") == 2
        err = one_line_error(capsys)
        if older:
            assert "_defects.csv does not match orders.csv" in err and "cut short or edited" in err
        else:
            assert "_defects.csv is not the log its run wrote" in err
        assert not (tmp_path / "lake").exists()

    @pytest.mark.parametrize(
        ("edit", "message"),
        [
            (lambda body: body.update(messiness_level="none"), "yet holds a _defects.csv"),
            (lambda body: body.update(messiness_level="light_mess"), "not those its _run.json"),
            (lambda body: body["messiness"].update(nulls=0.5), "not those its _run.json records"),
        ],
        ids=["clean-level", "other-level", "other-rates"],
    )
    def test_a_run_file_that_does_not_say_the_logs_level(
        self, messy_dir, tmp_path, capsys, edit, message
    ):
        source = tmp_path / "src"
        shutil.copytree(messy_dir, source)
        _edit_run_file(source, edit)
        assert _export(source, tmp_path / "lake") == 2
        assert message in one_line_error(capsys)
        assert not (tmp_path / "lake").exists()

    def test_an_edited_csv(self, messy_dir, tmp_path, capsys):
        """A row deleted by hand (the last: a line end stays a line end) was exported with a
        warning; if the log named none of its cells, the lake passed verify and
        --against-defects, and only --deep saw it."""
        source = tmp_path / "src"
        shutil.copytree(messy_dir, source)
        lines = (source / "orders.csv").read_text().splitlines(keepends=True)
        (source / "orders.csv").write_text("".join(lines[:-1]))
        assert _export(source, tmp_path / "lake") == 2
        assert "orders.csv is not the CSV its heavy_mess run wrote" in one_line_error(capsys)
        assert not (tmp_path / "lake").exists()

    def test_a_log_row_the_csvs_lack(self, messy_dir, tmp_path, capsys):
        """An entry of a date not exported still names a row of the CSV: a deleted row's
        entry was dropped without a word."""
        source = tmp_path / "src"
        shutil.copytree(messy_dir, source)
        _edit_run_file(source, lambda body: body.pop("defects_sha256"))
        with (source / "_defects.csv").open("a") as log:
            log.write('"orders","ingest_dt=2024-01-09","ORD-09999999","payment_method",'
                      '"whitespace","PayPal"," PayPal "\n')  # fmt: skip
        assert _export(source, tmp_path / "lake", "--ingest-date", "2024-01-10") == 2
        assert "names orders row ORD-09999999, which orders.csv does not" in one_line_error(capsys)

    @pytest.mark.parametrize("level", ["light_mess", "none"])
    def test_dimensions_from_a_run_of_another_level(self, messy_dir, tmp_path, capsys, level):
        """A clean lookups run too: the lake's dimensions would be clean, and --deep and
        --repair render them at the lake's level."""
        lookups = _run_dir(tmp_path / "art", level, start_date=FIRST, end_date=FIRST)
        assert _export(messy_dir, tmp_path / "lake", "--lookups-from", str(lookups)) == 2
        err = one_line_error(capsys)
        assert f"is a {level} run and --source a {LEVEL} one" in err
        assert not (tmp_path / "lake").exists()


def test_a_clean_export_records_its_days_and_grows_with_generate(raw_dir, tmp_path):
    """Before, an export recorded no days: verify could not plan it, failed the returns of
    orders before its first day, and failed as unexpected every exported partition once a
    generate run added days."""
    lake = tmp_path / "lake"
    assert _export(raw_dir, lake) == 0
    (record,) = [json.loads(p.read_text()) for p in (lake / "_runs").iterdir()]
    assert record["days"][0]["day"] == "2024-01-01"
    options = GenerateOptions(target=str(lake), start_date=dt.date(2024, 1, 16),
                              end_date=dt.date(2024, 1, 17), executor="in-process")  # fmt: skip
    assert generate(load_config(QUICK), options).ok
    report = verify(str(lake), deep=True)
    assert report.ok, report.to_text()
    assert "17 day(s)" in report.planned


def test_an_export_of_some_tables_records_no_days(raw_dir, tmp_path):
    """It holds part of each day: verify must not ask the plan's other tables of it."""
    lake = tmp_path / "lake"
    assert _export(raw_dir, lake, "--table", "orders", "--table", "order_items") == 0
    (record,) = [json.loads(p.read_text()) for p in (lake / "_runs").iterdir()]
    assert record["days"] == [] and record["exported"]["tables"] == ["orders", "order_items"]


def test_a_run_with_the_levels_rates_overridden_carries_them(tmp_path):
    """run-generator's `_config.yaml` left the YAML's `messiness:` block out (it is not in the
    fingerprint), so the lake recorded the preset rates and --deep failed every partition."""
    config = tmp_path / "q.yaml"
    config.write_text(QUICK.read_text() + "\nmessiness:\n  medium_mess:\n    whitespace: 0.3\n")
    options = RawRunOptions(artifact_root=str(tmp_path / "art"), messiness_level="medium_mess",
                            start_date=FIRST, end_date=FIRST + dt.timedelta(days=2))  # fmt: skip
    source = run_generator(load_config(config), options).run_dir
    assert "whitespace: 0.3" in (source / "_config.yaml").read_text()
    assert _export(source, tmp_path / "lake") == 0
    assert (
        json.loads((tmp_path / "lake" / "_lake.json").read_text())["messiness"]["whitespace"] == 0.3
    )
    report = verify(str(tmp_path / "lake"), against_defects=True, deep=True)
    assert report.ok, report.to_text()


def test_exports_of_some_tables_or_dates_keep_the_lake_whole(messy_lake, messy_dir, tmp_path):
    """A `--table orders` export rewrote the day's shared `_defects` partition with the orders'
    entries alone; an export of one date under another batch id made --deep fail what it
    rewrote (its lineage was in no record); one under the same batch id dropped the days the
    whole export had recorded, and verify stopped planning the lake."""
    lake = tmp_path / "lake"
    shutil.copytree(messy_lake, lake)
    day = lake / "_defects" / "ingest_dt=2024-01-09"
    before = pq.read_table(day, partitioning=None).num_rows
    assert _export(messy_dir, lake, "--table", "orders") == 0
    assert pq.read_table(day, partitioning=None).num_rows == before
    assert _export(messy_dir, lake, "--ingest-date", "2024-01-10", "--batch-id", "other") == 0
    (whole,) = (messy_lake / "_runs").iterdir()
    record = lake / "_runs" / whole.name
    batch = json.loads(record.read_text())["batch_id"]
    assert _export(messy_dir, lake, "--ingest-date", "2024-01-11", "--batch-id", batch,
                   "--ingestion-ts", json.loads(record.read_text())["ingestion_ts"]) == 0  # fmt: skip
    assert len(json.loads(record.read_text())["days"]) == 7
    report = verify(str(lake), against_defects=True, deep=True)
    assert report.ok, report.to_text()
    assert "7 day(s)" in report.planned


def test_a_run_of_another_level_into_the_lake_names_no_flag_export_raw_lacks(
    messy_lake, raw_dir, tmp_path, capsys
):
    lake = tmp_path / "lake"
    shutil.copytree(messy_lake, lake)
    assert _export(raw_dir, lake) == 2
    err = one_line_error(capsys)
    assert "holds a lake of another messiness level than this baseline run" in err
    assert "--messiness-level" not in err


def test_the_hook_is_called_for_the_log_partitions_too(messy_dir, tmp_path, monkeypatch):
    """As `generate` calls it for every partition it commits, its defect log's included."""
    (tmp_path / "messy_hook_mod.py").write_text(
        "CALLS = []\ndef record(ctx):\n    CALLS.append(ctx.rel_dir)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import messy_hook_mod

    lake = tmp_path / "lake"
    args = ["--ingest-date", "2024-01-09", "--post-export-hook", "messy_hook_mod:record"]
    assert _export(messy_dir, lake, *args) == 0
    written = {p.parent.relative_to(lake).as_posix() for p in lake.rglob("_SUCCESS")}
    assert sorted(messy_hook_mod.CALLS) == sorted(written)
    assert "_defects/ingest_dt=2024-01-09" in written
