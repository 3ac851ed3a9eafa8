"""`ecomlake run-generator`: every flag, bad input (exit 2, one line, nothing written), CSV format,
and rows equal to what `generate` writes for the same days."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from trio_helpers import END, QUICK, START, one_line_error

from ecomlake.cli.app import run
from ecomlake.lineage import LINEAGE_COLUMNS
from ecomlake.render.registry import TABLE_NAMES, TABLES, output_columns, table_spec
from ecomlake.trio import raw_run
from ecomlake.trio.csv_tables import read_csv_table
from ecomlake.trio.raw_run import RawRunOptions, create_run_dir, run_generator

DAYS = ["--start-date", "2024-01-01", "--end-date", "2024-01-03"]


def _cli(root: Path, *args: str, config: Path | str | None = QUICK) -> list[str]:
    head = ["run-generator", "--artifact-root", str(root)]
    return head + (["--config", str(config)] if config is not None else []) + list(args)


def _only_run_dir(root: Path) -> Path:
    dirs = sorted(root.iterdir())
    assert len(dirs) == 1, dirs
    return dirs[0]


def _config_without_pins(tmp_path: Path) -> Path:
    text = QUICK.read_text()
    text = text.replace("  start_date: 2024-01-01\n", "").replace("  end_date: 2024-03-31\n", "")
    path = tmp_path / "unpinned.yaml"
    path.write_text(text)
    return path


class TestOutput:
    def test_run_dir_holds_csvs_sql_and_run_record(self, raw_dir, quick_cfg):
        assert re.fullmatch(r"raw_run_\d{8}T\d{6}Z(_\d+)?", raw_dir.name)
        names = {p.name for p in raw_dir.iterdir()}
        assert names == {f"{t}.csv" for t in TABLE_NAMES} | {
            "load_data.sql",
            "_run.json",
            "_config.yaml",
        }
        body = json.loads((raw_dir / "_run.json").read_text())
        assert body["seed"] == 42 and body["generator_version"] == "0.1.0"
        assert body["world"] == {"start": "2024-01-01", "end": "2024-03-31", "reproducible": True}
        assert body["days"][0] == "2024-01-01" and body["days"][-1] == "2024-01-15"
        assert len(body["days"]) == 15 and body["lookups_only"] is False
        for spec in TABLES:
            header = (raw_dir / f"{spec.name}.csv").read_text().splitlines()[0]
            assert header.replace('"', "").split(",") == list(output_columns(quick_cfg, spec))
            assert body["rows"][spec.name] == len(
                read_csv_table(raw_dir / f"{spec.name}.csv", spec.schema, "t")
            )

    def test_csv_text_formats(self, raw_dir):
        carts = (raw_dir / "shopping_carts.csv").read_text().splitlines()[1]
        assert re.search(r'"2024-01-\d\dT\d\d:\d\d:\d\d\.\d{6}"', carts), carts
        customers = (raw_dir / "customers.csv").read_text()
        assert '"True"' in customers and '"False"' in customers and "true" not in customers
        guest = next(line for line in customers.splitlines() if "GUEST-" in line)
        assert ",," in guest  # null profile fields are empty, unquoted
        assert re.search(r",\d{4}-\d\d-\d\d,", guest)  # signup_date as a bare ISO date

    def test_rows_equal_generate_rows(self, raw_dir, generated_lake):
        """Each table's CSV, read back with the lake types, equals the generated partitions."""
        for spec in TABLES:
            lake = _lake_rows(generated_lake / spec.name)
            csv_rows = read_csv_table(raw_dir / f"{spec.name}.csv", spec.schema, "t")
            if spec.partition_column is not None:  # dimensions: lake order is by partition
                order = pc.sort_indices(csv_rows, [(spec.partition_column, "ascending")])
                csv_rows = csv_rows.take(order)
                lake = lake.take(pc.sort_indices(lake, [(spec.partition_column, "ascending")]))
            assert csv_rows.num_rows > 0 or spec.name.startswith("return")
            assert csv_rows.equals(lake), spec.name


def _lake_rows(table_dir: Path) -> pa.Table:
    """Data columns of every part file, partitions in name order (dates sort as text)."""
    parts = []
    for part_dir in sorted(table_dir.iterdir()):
        for path in sorted(part_dir.glob("part-*.parquet")):
            data = pq.read_table(path)
            parts.append(data.drop([c for c in LINEAGE_COLUMNS if c in data.column_names]))
    return pa.concat_tables(parts).replace_schema_metadata(None)


class TestFlags:
    def test_messiness_levels_case_insensitive(self, tmp_path):
        assert run(_cli(tmp_path / "a", *DAYS, "--messiness-level", "BASELINE")) == 0
        assert run(_cli(tmp_path / "b", *DAYS, "--messiness-level", "None")) == 0
        body = json.loads((_only_run_dir(tmp_path / "b") / "_run.json").read_text())
        assert body["messiness_level"] == "none"

    def test_default_artifact_root(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert run(["run-generator", "--config", str(QUICK), *DAYS]) == 0
        assert _only_run_dir(tmp_path / "artifacts").name.startswith("raw_run_")

    def test_seed_changes_data(self, tmp_path, raw_dir):
        assert run(_cli(tmp_path, *DAYS, "--seed", "7")) == 0
        run_dir = _only_run_dir(tmp_path)
        assert json.loads((run_dir / "_run.json").read_text())["seed"] == 7
        spec = table_spec("orders")
        mine = read_csv_table(run_dir / "orders.csv", spec.schema, "t")
        base = read_csv_table(raw_dir / "orders.csv", spec.schema, "t")
        assert not mine.slice(0, 5).equals(base.slice(0, 5))

    def test_start_and_end_select_days_inside_the_pinned_world(self, tmp_path):
        assert run(_cli(tmp_path, "--start-date", "2024-03-30")) == 0
        body = json.loads((_only_run_dir(tmp_path) / "_run.json").read_text())
        assert body["days"] == ["2024-03-30", "2024-03-31"]  # through the world end

    def test_unpinned_config_takes_the_world_from_the_dates(self, tmp_path):
        config = _config_without_pins(tmp_path)
        root = tmp_path / "art"
        assert run(_cli(root, *DAYS, config=config)) == 0
        body = json.loads((_only_run_dir(root) / "_run.json").read_text())
        assert body["world"]["start"] == "2024-01-01" and body["world"]["end"] == "2024-01-03"

    def test_generate_lookups_only(self, lookups_dir):
        csvs = sorted(p.name for p in lookups_dir.glob("*.csv"))
        assert csvs == ["customers.csv", "product_catalog.csv"]
        body = json.loads((lookups_dir / "_run.json").read_text())
        assert body["lookups_only"] is True and set(body["rows"]) == {
            "customers",
            "product_catalog",
        }
        assert "shopping_carts" not in (lookups_dir / "load_data.sql").read_text()

    def test_load_lookups_from_is_checked_and_recorded(self, tmp_path, lookups_dir):
        assert run(_cli(tmp_path, *DAYS, "--load-lookups-from", str(lookups_dir))) == 0
        body = json.loads((_only_run_dir(tmp_path) / "_run.json").read_text())
        assert body["load_lookups_from"] == str(lookups_dir.resolve())

    def test_load_lookups_from_a_run_of_another_level_is_refused(
        self, tmp_path, lookups_dir, capsys
    ):
        """The level was not compared: a clean run took a heavy_mess run's dirty customers (or
        the reverse), and export-raw refused the pair only later."""
        assert run(_cli(tmp_path / "a", *DAYS, "--load-lookups-from", str(lookups_dir),
                        "--messiness-level", "light_mess")) == 2  # fmt: skip
        error = capsys.readouterr().err
        assert f"--load-lookups-from: {lookups_dir} is a clean run and this one light_mess" in error
        assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())

    def test_id_state_file_is_read_never_written(self, tmp_path):
        state = tmp_path / "state.json"
        state.write_text('{"last_cart_id": 0}')
        assert run(_cli(tmp_path / "a", *DAYS, "--id-state-file", str(state))) == 0
        assert state.read_text() == '{"last_cart_id": 0}'
        missing = tmp_path / "absent.json"
        assert run(_cli(tmp_path / "b", *DAYS, "--id-state-file", str(missing))) == 0
        assert not missing.exists()

    def test_generator_src_is_ignored_with_a_note(self, tmp_path, capsys):
        assert run(_cli(tmp_path, *DAYS, "--generator-src", "../ecom_sales_data_generator")) == 0
        assert "--generator-src ../ecom_sales_data_generator is ignored" in capsys.readouterr().err


class TestRunDirs:
    def test_two_runs_in_the_same_second_get_their_own_dirs(self, tmp_path, quick_cfg):
        now = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
        options = RawRunOptions(
            artifact_root=str(tmp_path), start_date=START, end_date=START, now=now
        )
        first = run_generator(quick_cfg, options).run_dir
        second = run_generator(quick_cfg, options).run_dir
        assert first.name == "raw_run_20240501T120000Z"
        assert second.name == "raw_run_20240501T120000Z_2"
        assert create_run_dir(tmp_path, now).name == "raw_run_20240501T120000Z_3"

    def test_two_cli_runs_back_to_back(self, tmp_path):
        assert run(_cli(tmp_path, "--start-date", "2024-01-01", "--end-date", "2024-01-01")) == 0
        assert run(_cli(tmp_path, "--start-date", "2024-01-01", "--end-date", "2024-01-01")) == 0
        assert len({p.name for p in tmp_path.iterdir()}) == 2

    def test_failure_removes_the_partial_run_dir(self, tmp_path, quick_cfg, monkeypatch):
        def broken(*_args, **_kwargs):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(raw_run, "load_data_sql", broken)
        options = RawRunOptions(artifact_root=str(tmp_path / "art"), start_date=START, end_date=END)
        with pytest.raises(RuntimeError, match="disk on fire"):
            run_generator(quick_cfg, options)
        assert not (tmp_path / "art").exists()


BAD_INPUT = [
    (["--messiness-level", "chaos"], "--messiness-level: must be one of none, baseline"),
    (["--start-date", "2024-02-30"], "--start-date: invalid date '2024-02-30'"),
    (["--start-date", "2024-01-05", "--end-date", "2024-01-02"], "--start-date: must be on or before"),
    (["--start-date", "2023-12-01"], "--start-date: 2023-12-01 is outside the world window 2024-01-01..2024-03-31 pinned by the YAML"),
    (["--load-lookups-from", "/no/such/dir"], "--load-lookups-from: /no/such/dir is not a directory"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_flag_exit_2_one_line_nothing_written(tmp_path, capsys, args, message):
    root = tmp_path / "art"
    assert run(_cli(root, *args)) == 2
    assert message in one_line_error(capsys)
    assert not root.exists()


def test_missing_and_unknown_config(tmp_path, capsys):
    assert run(_cli(tmp_path / "art", config=None)) == 2
    assert "--config: required" in one_line_error(capsys)
    assert run(_cli(tmp_path / "art", config=tmp_path / "nope.yaml")) == 2
    assert "--config: file not found" in one_line_error(capsys)
    assert run(_cli(tmp_path / "art", config="")) == 2
    assert one_line_error(capsys) == "error: config: the path is empty"
    assert not (tmp_path / "art").exists()


def test_unpinned_config_needs_both_dates(tmp_path, capsys):
    config = _config_without_pins(tmp_path)
    assert run(_cli(tmp_path / "art", "--start-date", "2024-01-01", config=config)) == 2
    assert "--end-date: required when --start-date is given" in one_line_error(capsys)
    assert not (tmp_path / "art").exists()


def test_bad_id_state_file(tmp_path, capsys):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    assert run(_cli(tmp_path / "art", *DAYS, "--id-state-file", str(state))) == 2
    assert "--id-state-file:" in one_line_error(capsys)
    assert not (tmp_path / "art").exists()


def test_artifact_root_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert run(_cli(tmp_path / "file", *DAYS)) == 2
    assert "--artifact-root:" in one_line_error(capsys)


class TestLoadLookupsFrom:
    def test_dir_without_lookups(self, tmp_path, capsys):
        (tmp_path / "empty").mkdir()
        assert (
            run(_cli(tmp_path / "art", *DAYS, "--load-lookups-from", str(tmp_path / "empty"))) == 2
        )
        assert "has no customers.csv or product_catalog.csv" in one_line_error(capsys)
        assert not (tmp_path / "art").exists()

    def test_lookups_of_another_seed(self, tmp_path, capsys, lookups_dir):
        args = [*DAYS, "--seed", "9", "--load-lookups-from", str(lookups_dir)]
        assert run(_cli(tmp_path / "art", *args)) == 2
        assert "was made with another config or seed" in one_line_error(capsys)
        assert not (tmp_path / "art").exists()

    def test_lookups_of_another_world(self, tmp_path, capsys):
        config = _config_without_pins(tmp_path)  # unpinned: the dates make the world
        other = tmp_path / "other"
        assert (
            run(
                _cli(other, "--start-date", "2024-01-01", "--end-date", "2024-01-02", config=config)
            )
            == 0
        )
        args = [*DAYS, "--load-lookups-from", str(_only_run_dir(other))]
        assert run(_cli(tmp_path / "art", *args, config=config)) == 2
        assert "was made for the world 2024-01-01..2024-01-02" in one_line_error(capsys)
        assert not (tmp_path / "art").exists()

    def test_lookups_without_run_record(self, tmp_path, capsys, lookups_dir):
        bare = tmp_path / "bare"
        bare.mkdir()
        for name in ("customers.csv", "product_catalog.csv"):
            (bare / name).write_bytes((lookups_dir / name).read_bytes())
        assert run(_cli(tmp_path / "art", *DAYS, "--load-lookups-from", str(bare))) == 2
        assert "has no _run.json" in one_line_error(capsys)


@pytest.mark.slow
def test_sigterm_removes_the_partly_written_run_dir(tmp_path):
    """SIGTERM (a scheduler, `timeout`) ended the run on the spot and left CSVs without
    _run.json or load_data.sql, a dir nothing marked as partial; Ctrl-C removed it."""
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "art"
    command = [sys.executable, "-m", "ecomlake", "run-generator", "-c", str(QUICK),
               "--artifact-root", str(root), "--messiness-level", "heavy_mess",
               "--log-level", "error"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(root.glob("raw_run_*/*.csv")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no CSV within a minute"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    assert not root.exists()
