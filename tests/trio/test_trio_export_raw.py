"""`ecomlake export-raw`: byte identity with `generate`, partition rules (items follow their parent,
dimensions by signup date / category, guests included), flags, hooks and bad input."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from trio_helpers import BATCH, QUICK, START, TS, generate_lake, lake_hashes, one_line_error

from ecomlake.api import generate, verify
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.lake.lock import LOCK_FILE, LockInfo
from ecomlake.render.registry import TABLE_NAMES, table_spec
from ecomlake.run.driver import GenerateOptions
from ecomlake.trio.csv_tables import read_csv_table
from ecomlake.trio.raw_run import RawRunOptions, run_generator

PINNED = ["--batch-id", BATCH, "--ingestion-ts", TS]


def _export(source: Path, target: Path, *args: str) -> list[str]:
    return ["export-raw", "--source", str(source), "--target", str(target), *args]


def _partitions(lake: Path, table: str) -> list[str]:
    return sorted(p.name for p in (lake / table).iterdir()) if (lake / table).exists() else []


def _read(lake: Path, table: str, partition: str = ""):
    """Rows of one partition, or of the whole table (no Hive columns added)."""
    files = sorted((lake / table / partition).rglob("part-*.parquet"))
    return pa.concat_tables(pq.read_table(f, partitioning=None) for f in files)


class TestByteIdentity:
    def test_same_files_and_manifests_as_generate(self, generated_lake, exported_lake):
        expected = lake_hashes(generated_lake)
        assert len(expected) > 300
        assert lake_hashes(exported_lake) == expected

    def test_same_bytes_when_partitions_split_into_many_files(self, tmp_path, quick_cfg, raw_dir):
        """Tiny parts: file boundaries must match generate's too (see _generate_split)."""
        generated = generate_lake(quick_cfg, tmp_path / "gen", 0.002)
        target = tmp_path / "exp"
        assert run(_export(raw_dir, target, *PINNED, "--target-size-mb", "0.002")) == 0
        hashes = lake_hashes(target)
        assert any(name.endswith("part-00003.parquet") for name in hashes)
        assert hashes == lake_hashes(generated)

    def test_identity_file_matches_and_lake_verifies(self, generated_lake, exported_lake):
        mine = json.loads((exported_lake / "_lake.json").read_text())
        assert mine == json.loads((generated_lake / "_lake.json").read_text())
        report = verify(str(exported_lake))
        assert report.ok, report.to_text()
        (record,) = (exported_lake / "_runs").glob("*.json")
        exported = json.loads(record.read_text())["exported"]
        assert exported["partitions"] == sum(1 for _ in exported_lake.rglob("_SUCCESS"))

    def test_a_lake_whose_export_record_is_gone_fails_verify(self, tmp_path, exported_lake):
        lake = Path(shutil.copytree(exported_lake, tmp_path / "lake"))
        shutil.rmtree(lake / "_runs")
        assert "lake.run_records_missing" in {v.check for v in verify(str(lake)).violations}

    def test_an_edited_run_config_is_not_carried_into_the_lake(self, tmp_path, raw_dir, capsys):
        source = Path(shutil.copytree(raw_dir, tmp_path / "run"))
        edited = (source / "_config.yaml").read_text().replace("faker_seed: 42", "faker_seed: 43")
        (source / "_config.yaml").write_text(edited)
        target = tmp_path / "lake"
        assert run(_export(source, target, *PINNED, "--table", "orders")) == 0
        assert not (target / "_config.yaml").exists()
        assert "not the config of this run's CSVs" in capsys.readouterr().err


class TestPartitionRules:
    def test_items_follow_their_parents_date(self, exported_lake):
        pairs = [("cart_items", "shopping_carts", "cart_id"), ("order_items", "orders", "order_id")]
        pairs.append(("return_items", "returns", "return_id"))
        for child, parent, key in pairs:
            assert _partitions(exported_lake, child), child
            for partition in _partitions(exported_lake, child):
                child_keys = set(_read(exported_lake, child, partition).column(key).to_pylist())
                parent_keys = set(_read(exported_lake, parent, partition).column(key).to_pylist())
                assert child_keys <= parent_keys, (child, partition)

    def test_event_dates_match_the_partition(self, exported_lake):
        for table, column in [("shopping_carts", "created_at"), ("orders", "order_date")]:
            for partition in _partitions(exported_lake, table):
                days = pc.cast(_read(exported_lake, table, partition).column(column), "date32")
                assert {str(d) for d in days.to_pylist()} == {partition.split("=")[1]}

    def test_order_items_alone_still_partitioned_by_the_order_date(
        self, tmp_path, exported_lake, raw_dir
    ):
        target = tmp_path / "lake"
        assert run(_export(raw_dir, target, *PINNED, "--table", "order_items")) == 0
        assert sorted(p.name for p in target.iterdir()) == [
            "_config.yaml",
            "_lake.json",
            "_runs",
            "order_items",
        ]
        assert _partitions(target, "order_items") == _partitions(exported_lake, "order_items")
        for partition in _partitions(target, "order_items"):
            mine = target / "order_items" / partition
            full = exported_lake / "order_items" / partition
            assert (mine / "part-00000.parquet").read_bytes() == (
                full / "part-00000.parquet"
            ).read_bytes()

    def test_dimensions_by_signup_date_and_category_guests_included(self, exported_lake, raw_dir):
        customers = read_csv_table(raw_dir / "customers.csv", table_spec("customers").schema, "t")
        lake = _read(exported_lake, "customers")
        assert lake.num_rows == customers.num_rows  # never replicated, never dropped
        assert pc.sum(lake.column("is_guest")).as_py() > 0
        assert all(p.startswith("signup_dt=") for p in _partitions(exported_lake, "customers"))
        categories = _partitions(exported_lake, "product_catalog")
        assert len(categories) == 5 and all(p.startswith("category_key=") for p in categories)
        assert _read(exported_lake, "product_catalog").num_rows == 200

    def test_rows_written_once(self, exported_lake, raw_dir):
        body = json.loads((raw_dir / "_run.json").read_text())
        for table in TABLE_NAMES:
            if (exported_lake / table).exists():
                assert _read(exported_lake, table).num_rows == body["rows"][table]


class TestFlags:
    def test_lineage_flags_and_source_prefix(self, tmp_path, raw_dir):
        target = tmp_path / "lake"
        args = ["--batch-id", "b-1", "--ingestion-ts", TS, "--source-prefix", "gs://bkt/raw"]
        assert (
            run(_export(raw_dir, target, *args, "--table", "orders", "--ingest-date", "2024-01-05"))
            == 0
        )
        data = _read(target, "orders", "ingest_dt=2024-01-05")
        assert set(data.column("batch_id").to_pylist()) == {"b-1"}
        assert set(data.column("ingestion_ts").to_pylist()) == {dt.datetime.fromisoformat(TS)}
        assert data.column("source_file")[0].as_py() == (
            "gs://bkt/raw/orders/ingest_dt=2024-01-05/part-00000.parquet"
        )
        manifest = json.loads((target / "orders/ingest_dt=2024-01-05/_MANIFEST.json").read_text())
        assert manifest["batch_id"] == "b-1" and manifest["created_at"] == TS
        assert (target / "orders/ingest_dt=2024-01-05/_SUCCESS").exists()

    def test_a_lake_keeps_one_schema_of_lineage_columns(self, tmp_path, raw_dir, capsys):
        """A second export with --source-prefix into a lake exported without one would give
        some days a source_file column and others none: refused before any write."""
        target = tmp_path / "lake"
        first = ["--table", "orders", "--ingest-date", "2024-01-05"]
        assert run(_export(raw_dir, target, *first)) == 0
        before = sorted(p.relative_to(target) for p in target.rglob("*"))
        later = ["--table", "orders", "--ingest-date", "2024-01-06", "--source-prefix", "gs://b"]
        assert run(_export(raw_dir, target, *later)) == 2
        error = one_line_error(capsys)
        assert "--source-prefix: this run adds a source_file column" in error
        assert error.endswith("run as before")  # export-raw has no --overwrite to offer
        assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
        assert run(_export(raw_dir, target, *later[:-2])) == 0  # as before: accepted

    def test_a_locked_lake_exits_2_naming_the_lock(self, tmp_path, raw_dir, capsys):
        target = tmp_path / "lake"
        target.mkdir()
        held = LockInfo.current("other")  # this very process: a live holder
        (target / LOCK_FILE).write_bytes(held.payload())
        assert run(_export(raw_dir, target, "--table", "returns")) == 2
        error = one_line_error(capsys)
        assert f"{target}/{LOCK_FILE} is held by batch other, pid {held.pid}" in error
        assert sorted(p.name for p in target.iterdir()) == [LOCK_FILE]

    def test_a_lake_of_another_world_made_meanwhile_is_refused(
        self, tmp_path, raw_dir, monkeypatch, capsys
    ):
        """Checked before the lock: a generate of another seed that took the lock while the
        export prepared made its lake, and the export then wrote its rows into it."""
        from ecomlake.trio import raw_export

        target, real_prepare = tmp_path / "lake", raw_export._prepare

        def prepare_while_another_world_commits(options):
            plan = real_prepare(options)  # no lake yet: every check passes
            other = GenerateOptions(target=str(target), executor="in-process", seed=7,
                                    dates=(dt.date(2024, 1, 4),))  # fmt: skip
            assert generate(load_config(QUICK), other).ok
            return plan

        monkeypatch.setattr(raw_export, "_prepare", prepare_while_another_world_commits)
        assert run(_export(raw_dir, target, *PINNED)) == 2
        assert "holds a lake made with another config, seed or window" in one_line_error(capsys)
        assert json.loads((target / "_lake.json").read_text())["seed"] == 7
        assert not (target / "_runs" / f"{BATCH}.json").exists()

    def test_days_exported_with_a_source_file_column_meanwhile_are_not_mixed(
        self, tmp_path, raw_dir, monkeypatch, capsys
    ):
        """Checked before the lock: an export with --source-prefix that took the lock while
        this one prepared wrote its days with the column, and this one then wrote days
        without it."""
        from ecomlake.trio import raw_export

        target, real_prepare = tmp_path / "lake", raw_export._prepare

        def prepare_while_another_export_commits(options):
            plan = real_prepare(options)  # no lake yet: every check passes
            monkeypatch.setattr(raw_export, "_prepare", real_prepare)
            other = [
                "--table",
                "orders",
                "--ingest-date",
                "2024-01-05",
                "--source-prefix",
                "gs://b",
            ]
            assert run(_export(raw_dir, target, *other)) == 0
            return plan

        monkeypatch.setattr(raw_export, "_prepare", prepare_while_another_export_commits)
        assert (
            run(_export(raw_dir, target, "--table", "orders", "--ingest-date", "2024-01-06")) == 2
        )
        assert "this run leaves out the source_file column" in one_line_error(capsys)
        assert not (target / "orders" / "ingest_dt=2024-01-06").exists()

    def test_default_target_and_batch(self, tmp_path, raw_dir, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert run(["export-raw", "--source", str(raw_dir), "--table", "returns"]) == 0
        manifest = next((tmp_path / "output/raw/returns").glob("*/_MANIFEST.json"))
        assert json.loads(manifest.read_text())["batch_id"].startswith("batch_")

    def test_target_size_mb_splits_files(self, tmp_path, raw_dir):
        target = tmp_path / "lake"
        assert (
            run(_export(raw_dir, target, "--table", "cart_items", "--target-size-mb", "0.001")) == 0
        )
        assert len(list(target.glob("cart_items/*/part-*.parquet"))) > len(
            _partitions(target, "cart_items")
        )

    def test_storage_option_is_passed_to_the_filesystem(self, tmp_path, raw_dir):
        target = tmp_path / "lake"
        assert (
            run(
                _export(
                    raw_dir, target, "--table", "returns", "--storage-option", "auto_mkdir=true"
                )
            )
            == 0
        )
        assert _partitions(target, "returns")

    def test_lookups_from_supplies_the_dimensions(self, tmp_path, raw_dir, lookups_dir):
        target = tmp_path / "lake"
        args = [
            "--lookups-from",
            str(lookups_dir),
            "--table",
            "customers",
            "--table",
            "product_catalog",
        ]
        assert run(_export(raw_dir, target, *args)) == 0
        rows = json.loads((lookups_dir / "_run.json").read_text())["rows"]["customers"]
        assert _read(target, "customers").num_rows == rows  # the whole world's customers

    def test_source_without_dimensions_skips_them(self, tmp_path, raw_dir, capsys):
        source = tmp_path / "src"
        shutil.copytree(raw_dir, source)
        (source / "customers.csv").unlink()
        assert run(_export(source, tmp_path / "lake", "--dates", "2024-01-02")) == 0
        assert "customers: skipped (no customers.csv" in capsys.readouterr().out
        assert not (tmp_path / "lake" / "customers").exists()

    def test_nothing_exported_is_exit_1(self, tmp_path, raw_dir, quick_cfg, capsys):
        options = RawRunOptions(artifact_root=str(tmp_path), start_date=START, end_date=START)
        one_day = run_generator(quick_cfg, options).run_dir  # no returns on its first day
        assert run(_export(one_day, tmp_path / "lake", "--table", "returns")) == 1
        assert "nothing exported" in capsys.readouterr().err
        assert run(_export(raw_dir, tmp_path / "lake", "--table", "orders", "--dates",
                           "2025-06-01")) == 1  # fmt: skip
        out = capsys.readouterr()
        assert "2025-06-01: no rows in the source" in out.out
        assert "none of the dates asked for has rows in the source" in out.err

    def test_dates_the_source_has_no_rows_for_are_exit_1(self, tmp_path, raw_dir, capsys):
        """A scheduled "export yesterday" against a stale run dir wrote only the customers and
        the catalog, and exited 0; then exited 1 having written them. Now nothing is written."""
        assert run(_export(raw_dir, tmp_path / "lake", "--dates", "2025-06-01")) == 1
        out = capsys.readouterr()
        assert "2025-06-01: no rows in the source" in out.out
        assert "none of the dates asked for has rows in the source" in out.err
        assert "partitions written: 0, rows: 0" in out.out
        assert not (tmp_path / "lake").exists()

    def test_rows_without_a_date_or_parent_are_counted(self, tmp_path, raw_dir, capsys):
        source = tmp_path / "src"
        shutil.copytree(raw_dir, source)
        lines = (source / "shopping_carts.csv").read_text().splitlines(keepends=True)
        first = lines[1].split(",")
        first[2] = ""  # a null created_at: the cart and its items have no date
        lines[1] = ",".join(first)
        del lines[2]  # a deleted cart: its items have no parent
        (source / "shopping_carts.csv").write_text("".join(lines))
        target = tmp_path / "lake"
        assert (
            run(_export(source, target, "--table", "shopping_carts", "--table", "cart_items")) == 0
        )
        out = capsys.readouterr().out
        rows = json.loads((source / "_run.json").read_text())["rows"]
        carts = rows["shopping_carts"] - 1
        assert f"shopping_carts: {carts - 1:,} rows" in out and "; 1 with a null date" in out
        items_line = next(line for line in out.splitlines() if "cart_items:" in line)
        assert "with a null date" in items_line and "without a parent" in items_line
        assert _read(target, "shopping_carts").num_rows == carts - 1
        written = _read(target, "cart_items").num_rows
        lost = [int(part.split()[0]) for part in items_line.split("; ")[1:]]
        assert written + sum(lost) == rows["cart_items"]  # every row accounted for


def _hook_module(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "trio_hook_mod.py").write_text(
        "CALLS = []\n"
        "def record(ctx):\n"
        "    CALLS.append((ctx.table, ctx.partition, ctx.manifest.total_rows, ctx.rel_dir))\n"
        "def boom(ctx):\n"
        "    if ctx.table == 'orders':\n"
        "        raise RuntimeError('bad partition')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


class TestHooks:
    def test_called_once_per_partition_dimensions_too(self, tmp_path, raw_dir, monkeypatch):
        _hook_module(tmp_path, monkeypatch)
        import trio_hook_mod

        target = tmp_path / "lake"
        args = ["--dates", "2024-01-10", "--post-export-hook", "trio_hook_mod:record"]
        assert run(_export(raw_dir, target, *args)) == 0
        written = {p.parent.relative_to(target).as_posix() for p in target.rglob("_SUCCESS")}
        called = {f"{table}/{partition}" for table, partition, _, _ in trio_hook_mod.CALLS}
        assert called == written and len(trio_hook_mod.CALLS) == len(written)
        assert any(table == "customers" for table, *_ in trio_hook_mod.CALLS)
        for table, partition, rows, rel_dir in trio_hook_mod.CALLS:
            assert rel_dir == f"{table}/{partition}" and rows > 0

    def test_a_failing_hook_stops_the_run_and_names_itself(
        self, tmp_path, raw_dir, monkeypatch, capsys
    ):
        _hook_module(tmp_path, monkeypatch)
        args = ["--table", "orders", "--post-export-hook", "trio_hook_mod:boom"]
        assert run(_export(raw_dir, tmp_path / "lake", *args)) == 3
        err = one_line_error(capsys)
        assert "trio_hook_mod:boom" in err and "orders/ingest_dt=" in err

    @pytest.mark.parametrize("spec", ["no_colon", "no_such_module_xyz:f", "json:no_such_function"])
    def test_bad_spec_exit_2_nothing_written(self, tmp_path, raw_dir, capsys, spec):
        assert run(_export(raw_dir, tmp_path / "lake", "--post-export-hook", spec)) == 2
        assert "--post-export-hook:" in one_line_error(capsys)
        assert not (tmp_path / "lake").exists()


def test_byte_identity_with_a_trimmed_column_list(tmp_path):
    """A config that drops columns (even an event-date column) still round-trips exactly."""
    text = QUICK.read_text()
    for line in (
        "      - { name: email, type: TEXT }\n",
        "      - { name: added_at, type: DATE }\n",
    ):
        assert line in text
        text = text.replace(line, "")
    config = tmp_path / "trimmed.yaml"
    config.write_text(text)
    cfg = load_config(config)
    days = ["--start-date", "2024-01-01", "--end-date", "2024-01-03"]
    assert (
        run(["run-generator", "-c", str(config), "--artifact-root", str(tmp_path / "art"), *days])
        == 0
    )
    source = next((tmp_path / "art").iterdir())
    assert '"email"' not in (source / "customers.csv").read_text().splitlines()[0]
    target = tmp_path / "exp"
    assert run(_export(source, target, *PINNED, "--target-size-mb", "16")) == 0
    options = GenerateOptions(
        target=str(tmp_path / "gen"),
        start_date=dt.date(2024, 1, 1),
        end_date=dt.date(2024, 1, 3),
        executor="in-process",
        batch_id=BATCH,
        ingestion_ts=TS,
        target_size_mb=16,
    )
    assert generate(cfg, options).ok
    assert lake_hashes(target) == lake_hashes(tmp_path / "gen")


class TestDamagedCsvs:
    def test_a_byte_order_mark_is_not_part_of_the_first_column(self, tmp_path, raw_dir):
        """Excel saves a CSV with a BOM: 'has no order_id column' was wrong."""
        source = Path(shutil.copytree(raw_dir, tmp_path / "src"))
        orders = source / "orders.csv"
        orders.write_bytes(b"\xef\xbb\xbf" + orders.read_bytes())
        target = tmp_path / "lake"
        assert run(_export(source, target, "--table", "orders")) == 0
        assert _read(target, "orders").num_rows == _read_csv_rows(raw_dir, "orders")

    def test_a_csv_cut_at_a_line_end_is_warned_of(self, tmp_path, raw_dir, capsys):
        source = Path(shutil.copytree(raw_dir, tmp_path / "src"))
        lines = (source / "orders.csv").read_text().splitlines(keepends=True)
        (source / "orders.csv").write_text("".join(lines[:10]))
        assert run(_export(source, tmp_path / "lake", "--table", "orders")) == 0
        expected = _read_csv_rows(raw_dir, "orders")
        err = capsys.readouterr().err
        assert f"has 9 rows and _run.json says its run wrote {expected}" in err


def _read_csv_rows(run_dir: Path, table: str) -> int:
    return json.loads((run_dir / "_run.json").read_text())["rows"][table]


def test_a_messy_run_with_its_defects_csv_cut_short_is_one_line(tmp_path, capsys):
    """A drifted date the cut log no longer lists was a pyarrow traceback and exit 1."""
    from ecomlake.trio.raw_run import RawRunOptions, run_generator

    options = RawRunOptions(
        artifact_root=str(tmp_path / "art"),
        start_date=dt.date(2024, 1, 1),
        end_date=dt.date(2024, 1, 7),
        messiness_level="heavy_mess",
    )
    source = run_generator(load_config(QUICK), options).run_dir
    log = source / "_defects.csv"
    lines = log.read_text().splitlines(keepends=True)
    drift = [i for i, line in enumerate(lines) if '"format_drift"' in line]
    assert drift, "the week has drifted values"
    log.write_text("".join(lines[: drift[0]]))  # cut before the first drift row
    code = run(_export(source, tmp_path / "lake"))
    assert code == 2
    err = one_line_error(capsys)
    assert "is not the log its run wrote" in err  # _run.json records the log's sha256


def test_a_killed_messy_run_dir_is_told_to_run_again(tmp_path, raw_dir, capsys):
    """CSVs and a defect log without _run.json: what a run-generator killed outright leaves.
    The error sent to restore a _run.json that never existed."""
    source = Path(shutil.copytree(raw_dir, tmp_path / "src"))
    (source / "_run.json").unlink()
    (source / "_defects.csv").write_text("table,row_key,column,defect_type,clean,dirty\n")
    assert run(_export(source, tmp_path / "lake")) == 2
    error = one_line_error(capsys)
    assert "has no _run.json, yet holds a _defects.csv" in error
    assert error.endswith(
        "a run-generator killed before it finished leaves such a dir: run it again"
    )
