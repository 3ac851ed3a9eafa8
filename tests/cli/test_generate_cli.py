"""`ecomlake generate` from the command line: messages, exit codes, nothing written on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ecomlake.cli.app import run

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"


def _bad_config(tmp_path: Path, old: str, new: str) -> Path:
    text = QUICK.read_text()
    assert old in text, old
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _generate(tmp_path: Path, *args: str, config: Path | str = QUICK) -> list[str]:
    return ["generate", "-c", str(config), "-t", str(tmp_path / "lake"), "--no-progress", *args]


CONFIG_CASES = [
    ("conversion_rate: 0.12", "conversion_rate: 1.5", "parameters.conversion_rate: must be between 0 and 1"),
    ("Overnight: 0.15", "Overnight: 0.10", "parameters.shipping_speed_distribution: must sum to 1"),
    ("delay_days_range: [200, 400]", "delay_days_range: [400, 200]", "parameters.reactivation_settings.delay_days_range"),
    ("start_date: 2024-01-01", "start_date: 2024-13-01", "parameters.start_date"),
    ("start_date: 2024-01-01", "start_date: 2024-06-01", "parameters.start_date: must be on or before end_date"),
    ("faker_seed: 42", "faker_seeed: 42", "faker_seeed: unknown key"),
    ("conversion_rate: 0.12", "conversion_rate: lots", "parameters.conversion_rate"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "message"), CONFIG_CASES)
def test_bad_config_is_one_line_exit_2_nothing_written(tmp_path, capsys, old, new, message):
    code = run(_generate(tmp_path, config=_bad_config(tmp_path, old, new)))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and message in err, err
    assert "\n" not in err
    assert not (tmp_path / "lake").exists()


FLAG_CASES = [
    (["--start-date", "2024-02-30"], "--start-date: invalid date '2024-02-30' (use YYYY-MM-DD)"),
    (["--dates", "2024-01-02", "--days", "3"], "--dates: cannot be combined"),
    (["--dates", "2023-12-31"], "--dates: 2023-12-31 is outside the world window"),
    (["--start-date", "2024-03-01", "--end-date", "2024-02-01"], "--start-date: must be on or before"),
    (["--days", "0"], "--days: must be at least 1"),
    (["--ingestion-ts", "yesterday"], "--ingestion-ts: must be an ISO timestamp"),
    (["--batch-id", "../escape"], "--batch-id: use letters, digits"),
    (["--compression", "rar"], "--compression: must be one of"),
    (["--messiness-level", "chaos"], "--messiness-level: must be one of none, baseline, light_mess"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), FLAG_CASES)
def test_bad_flag_is_one_line_exit_2_nothing_written(tmp_path, capsys, args, message):
    code = run(_generate(tmp_path, *args, "--executor", "in-process"))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"error: {err[7:]}" and message in err, err
    assert not (tmp_path / "lake").exists()


def test_unknown_executor_is_one_line_exit_2_nothing_written(tmp_path, capsys):
    assert run(_generate(tmp_path, "--executor", "threads")) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --executor: must be one of auto, ray, in-process, got 'threads'"
    assert not (tmp_path / "lake").exists()


def test_missing_config_file(tmp_path, capsys):
    code = run(_generate(tmp_path, config=tmp_path / "nope.yaml"))
    assert code == 2
    assert "config: file not found" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_empty_config_path_is_named_not_read_as_the_current_folder(tmp_path, capsys):
    assert run(_generate(tmp_path, config="")) == 2
    assert capsys.readouterr().err.strip() == "error: config: the path is empty"
    assert not (tmp_path / "lake").exists()


def test_unsupported_target_scheme(tmp_path, capsys):
    code = run(["generate", "-c", str(QUICK), "-t", "ftp://host/lake", "--no-progress"])
    assert code == 2
    assert "--target: unsupported scheme 'ftp'" in capsys.readouterr().err


def test_unknown_flag_is_a_usage_error(tmp_path, capsys):
    assert run(_generate(tmp_path, "--bogus")) == 2
    assert "No such option: --bogus" in capsys.readouterr().err


def test_generate_writes_lake_summary_and_run_manifest(tmp_path, capsys):
    code = run(
        _generate(
            tmp_path,
            "--executor", "in-process",
            "--dates", "2024-01-10,2024-01-11",
            "--batch-id", "cli-test",
            "--ingestion-ts", "2024-04-01T00:00:00+00:00",
            "--source-prefix", "gs://bucket/raw",
            "--log-format", "json",
        )
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "days committed: 2, failed: 0" in out
    lake = tmp_path / "lake"
    carts = sorted((lake / "shopping_carts").iterdir())
    assert [p.name for p in carts] == ["ingest_dt=2024-01-10", "ingest_dt=2024-01-11"]
    table = pq.read_table(carts[0] / "part-00000.parquet")
    assert table.column_names[-4:] == ["batch_id", "ingestion_ts", "event_id", "source_file"]
    assert table.column("source_file")[0].as_py() == (
        "gs://bucket/raw/shopping_carts/ingest_dt=2024-01-10/part-00000.parquet"
    )
    manifest = json.loads((lake / "_runs" / "cli-test.json").read_text())
    assert [d["day"] for d in manifest["days"]] == ["2024-01-10", "2024-01-11"]
    assert manifest["ok"] and manifest["days"][0]["node_id"] == "local"


def test_plan_cache_flag_and_folder(tmp_path, capsys, monkeypatch):
    """The first run of a world stores its plan in $ECOMLAKE_PLAN_CACHE, the next loads it, and
    --no-plan-cache plans afresh; the run manifest and the summary say which happened."""
    monkeypatch.setenv("ECOMLAKE_PLAN_CACHE", str(tmp_path / "plans"))
    runs = {"cold": (), "warm": (), "off": ("--no-plan-cache",)}
    for name, extra in runs.items():
        args = ["--executor", "in-process", "--dates", "2024-01-10", "--batch-id", name]
        assert run(_generate(tmp_path / name, *args, *extra)) == 0
    out = capsys.readouterr().out
    cached = {
        name: json.loads((tmp_path / name / "lake" / "_runs" / f"{name}.json").read_text())
        for name in runs
    }
    assert {k: v["plan_cached"] for k, v in cached.items()} == {
        "cold": False,
        "warm": True,
        "off": False,
    }
    assert out.count("plan, from cache)") == 1
    assert len(list((tmp_path / "plans").glob("plan-*.npz"))) == 1


def test_version(capsys):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "0.1.0"


def _with_cart_columns(tmp_path: Path, names: list[str]) -> Path:
    import yaml

    raw = yaml.safe_load(QUICK.read_text())
    for table in raw["tables"]:
        if table["name"] == "shopping_carts":
            table["columns"] = [{"name": n, "type": "TEXT"} for n in names]
    path = tmp_path / "columns.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_yaml_column_list_selects_and_orders_columns(tmp_path):
    config = _with_cart_columns(tmp_path, ["cart_id", "status", "cart_total"])
    code = run(
        _generate(tmp_path, "--dates", "2024-01-03", "--executor", "in-process", config=config)
    )
    assert code == 0
    table = pq.read_table(
        tmp_path / "lake" / "shopping_carts" / "ingest_dt=2024-01-03" / "part-00000.parquet"
    )
    assert table.column_names == [
        "cart_id",
        "status",
        "cart_total",
        "batch_id",
        "ingestion_ts",
        "event_id",
    ]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["cart_id", "colour"], "tables[2].columns[1].name: shopping_carts has no column 'colour'"),
        (
            ["status", "cart_total"],
            "tables[2].columns: must keep shopping_carts's key column 'cart_id'",
        ),
    ],
)
def test_bad_column_list_is_rejected_before_writing(tmp_path, capsys, names, message):
    code = run(
        _generate(tmp_path, "--executor", "in-process", config=_with_cart_columns(tmp_path, names))
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not (tmp_path / "lake").exists()


def test_a_failed_table_commit_is_not_counted_as_a_failed_day(capsys):
    """A day whose data committed but whose Iceberg commit failed is in both lists of the
    result; the summary counts it once, as a table commit."""
    import datetime as dt

    from ecomlake.cli.output import print_summary
    from ecomlake.run.driver import RunResult
    from ecomlake.run.executors import DayFailure
    from ecomlake.run.task import DayResult

    days = [DayResult(f"2024-01-0{d}", {"orders": 1}, 1, 0, 0.0, 0.0) for d in (1, 2)]
    failures = [
        DayFailure("2024-01-02", "iceberg commit failed: customers: x is missing"),
        DayFailure("2024-01-03", "StorageError: no space"),
    ]
    window = (dt.date(2024, 1, 1), dt.date(2024, 1, 3))
    print_summary(RunResult("b", "lake", *window, True, days, failures, 0.1, 1.0, "_runs/b.json"))
    out = capsys.readouterr().out
    assert "days committed: 2, failed: 1 (2024-01-03: each error is logged above)" in out
    assert "table commits failed: 1 (the data is in the lake" in out
