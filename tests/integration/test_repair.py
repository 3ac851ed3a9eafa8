"""Damaged lakes: a plain re-run notices what one listing shows, `--repair` checks every byte and
brings the damaged partitions back byte-identical, even when the lineage was never pinned."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from ecomlake.api import generate, repair
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.errors import ConfigError
from ecomlake.run.driver import GenerateOptions
from ecomlake.verify import check_manifests

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 4)
# Unpinned lineage (random batch id, wall-clock ingestion_ts) and non-default writer options:
# repair has to take all of them from the lake.
UNPINNED = {"source_prefix": "s3://raw-drop/exports", "compression": "snappy"}


def _hashes(root: Path) -> dict[str, str]:
    """sha256 of every file but the run records (they hold timings)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_runs" not in p.parts
    }


def _mtimes(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _options(target: Path, **kw) -> GenerateOptions:
    fields = {"start_date": START, "end_date": END, "executor": "in-process", **kw}
    return GenerateOptions(target=str(target), **fields)


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    """Four days of the quick world, lineage unpinned; read-only for the tests."""
    root = tmp_path_factory.mktemp("repair") / "lake"
    result = generate(load_config(QUICK), _options(root, **UNPINNED))
    assert result.ok, result.failures
    return root


@pytest.fixture
def lake(original, tmp_path) -> Path:
    return Path(shutil.copytree(original, tmp_path / "lake"))


def _part(root: Path, table: str, partition: str) -> Path:
    return root / table / partition / "part-00000.parquet"


def _flip(path: Path, at: int = 200) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-40])


def _stray(partition: Path) -> None:
    shutil.copy(partition / "part-00000.parquet", partition / "part-00001.parquet")


def _unlink(name: str) -> Callable[[Path], None]:
    return lambda partition: (partition / name).unlink()


# partition -> what is done to it
DAMAGE: dict[str, Callable[[Path], None]] = {
    "orders/ingest_dt=2024-01-01": lambda d: _flip(d / "part-00000.parquet"),
    "cart_items/ingest_dt=2024-01-03": lambda d: _truncate(d / "part-00000.parquet"),
    "shopping_carts/ingest_dt=2024-01-02": _stray,
    "shopping_carts/ingest_dt=2024-01-04": _unlink("part-00000.parquet"),
    "orders/ingest_dt=2024-01-04": _unlink("_MANIFEST.json"),
    "order_items/ingest_dt=2024-01-04": lambda d: _flip(d / "_MANIFEST.json", 40),
    "product_catalog/category_key=Toys": _unlink("_SUCCESS"),
    "customers/signup_dt=2023-12-30": shutil.rmtree,
    "cart_items/ingest_dt=2024-01-01": shutil.rmtree,
}


def _partitions(root: Path) -> set[Path]:
    return {p.parent for p in root.rglob("_SUCCESS")}


def test_repair_restores_every_kind_of_damage_byte_identical(lake, original):
    for rel, damage in DAMAGE.items():
        damage(lake / rel)
    damaged = sorted(DAMAGE)
    untouched = {p: t for p, t in _mtimes(lake).items() if p.parent.relative_to(lake).as_posix()
                 not in damaged}  # fmt: skip
    result = repair(_options(lake, executor="auto"))  # no config: the lake's own
    assert result.ok, result
    assert sorted(result.damaged) == damaged
    assert result.repaired == damaged
    assert result.checked == len(_partitions(original))
    assert _hashes(lake) == _hashes(original)
    assert {p: t for p, t in _mtimes(lake).items() if p in untouched} == untouched
    assert "repaired" in result.summary() and f"{len(damaged)} damaged" in result.summary()


def test_repair_of_a_clean_lake_rewrites_nothing(lake, original):
    before = _mtimes(lake)
    result = repair(_options(lake), load_config(QUICK))
    assert result.ok and not result.damaged and not result.repaired and result.checked > 100
    assert _mtimes(lake) == before


def test_plain_rerun_rewrites_truncated_and_stray_partitions(lake, original):
    """One listing per partition: a size that differs or an unlisted Parquet file is seen."""
    _truncate(_part(lake, "orders", "ingest_dt=2024-01-04"))
    stray = lake / "shopping_carts" / "ingest_dt=2024-01-03" / "stray.parquet"
    stray.write_bytes(b"PAR1 not ours PAR1")
    record = json.loads(next((original / "_runs").glob("*.json")).read_text())
    same = {"batch_id": record["batch_id"], "ingestion_ts": record["ingestion_ts"], **UNPINNED}
    result = generate(load_config(QUICK), _options(lake, **same))
    assert result.ok
    assert sum(r.partitions for r in result.results) == 2
    assert not stray.exists()
    assert check_manifests(str(lake)) == []
    assert _hashes(lake) == _hashes(original)


def test_plain_rerun_skips_a_hook_file_and_an_older_manifest(lake):
    """Non-Parquet files are not damage, and a manifest without sizes still passes."""
    partition = lake / "orders" / "ingest_dt=2024-01-01"
    (partition / "hook_summary.txt").write_text("a hook's output")
    manifest = json.loads((partition / "_MANIFEST.json").read_text())
    for entry in manifest["files"]:
        del entry["size"]
    del manifest["writer"]
    (partition / "_MANIFEST.json").write_text(json.dumps(manifest))
    record = json.loads(next((lake / "_runs").glob("*.json")).read_text())
    same = {"batch_id": record["batch_id"], "ingestion_ts": record["ingestion_ts"], **UNPINNED}
    result = generate(load_config(QUICK), _options(lake, **same))
    assert sum(r.partitions for r in result.results) == 0


def test_verify_ends_with_the_repair_command_that_fixes_the_lake(lake, capsys):
    _flip(_part(lake, "order_items", "ingest_dt=2024-01-01"))
    (lake / "orders" / "ingest_dt=2024-01-04" / "_MANIFEST.json").unlink()
    assert run(["verify", str(lake)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"repair: ecomlake generate --target {lake} --repair"
    assert run(["verify", str(lake), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["repair_command"] == last.removeprefix("repair: ")
    command = last.removeprefix("repair: ecomlake ").split()
    assert run([*command, "--executor", "in-process"]) == 0
    assert "2 damaged, 2 repaired" in capsys.readouterr().out
    assert run(["verify", str(lake)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("result: ok")
    assert run(["verify", str(lake), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["repair_command"] is None


def test_repair_refuses_another_config_and_a_folder_without_lake(lake, tmp_path, capsys):
    other = tmp_path / "other.yaml"
    other.write_text(QUICK.read_text().replace("faker_seed: 42", "faker_seed: 7"))
    assert run(["generate", "-t", str(lake), "--repair", "-c", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "holds a lake made with another config or seed than the one given" in err
    assert "leave out the config and --seed to repair it with its own" in err  # not --overwrite
    assert run(["generate", "-t", str(lake), "--repair", "--seed", "7"]) == 2
    assert "leave out the config and --seed" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="holds no lake"):
        repair(_options(tmp_path / "empty"))
    assert run(["generate", "-t", str(lake), "--repair", "--overwrite"]) == 2
    assert run(["generate", "-t", str(lake)]) == 2  # no --config and no --repair


@pytest.fixture(scope="module")
def heavy(tmp_path_factory) -> Path:
    """Three days of the quick world at heavy_mess, lineage unpinned; read-only."""
    root = tmp_path_factory.mktemp("heavy") / "lake"
    options = _options(root, messiness_level="heavy_mess", end_date=dt.date(2024, 1, 3))
    assert generate(load_config(QUICK), options).ok
    return root


def test_repair_of_a_messy_lake_restores_data_and_defect_logs(heavy, tmp_path):
    lake = Path(shutil.copytree(heavy, tmp_path / "lake"))
    customer_log = sorted((lake / "_defects_customers").iterdir())[-1]
    damaged = {
        "orders/ingest_dt=2024-01-01": lambda d: _flip(d / "part-00000.parquet"),
        "_defects/ingest_dt=2024-01-02": shutil.rmtree,
        customer_log.relative_to(lake).as_posix(): lambda d: _truncate(d / "part-00000.parquet"),
        "customers/signup_dt=2023-12-31": _unlink("_MANIFEST.json"),
    }
    for rel, damage in damaged.items():
        damage(lake / rel)
    result = repair(GenerateOptions(target=str(lake), executor="in-process"))
    assert result.ok and sorted(result.repaired) == sorted(damaged)
    assert _hashes(lake) == _hashes(heavy)


def test_a_defect_logs_counts_sidecar_is_checked_and_repaired(heavy, tmp_path, capsys):
    """`_DEFECT_COUNTS.json` is in no manifest: verify and --repair check it against the log's
    own rows (an edited count, a deleted or emptied sidecar)."""
    lake = Path(shutil.copytree(heavy, tmp_path / "lake"))
    day_log = lake / "_defects" / "ingest_dt=2024-01-02" / "_DEFECT_COUNTS.json"
    body = json.loads(day_log.read_text())
    body["cells"] += 1
    day_log.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    customer_log = sorted((lake / "_defects_customers").iterdir())[0]
    (customer_log / "_DEFECT_COUNTS.json").unlink()
    catalog_log = sorted((lake / "_defects_product_catalog").iterdir())[0]
    (catalog_log / "_DEFECT_COUNTS.json").write_bytes(b"")
    (found,) = check_manifests(str(lake))
    assert found.check == "manifests.defect_counts" and found.count == 3
    assert "_defects/ingest_dt=2024-01-02 (_DEFECT_COUNTS.json does not give" in found.detail
    result = repair(GenerateOptions(target=str(lake), executor="in-process"))
    assert result.ok and len(result.repaired) == 3
    assert _hashes(lake) == _hashes(heavy)


def test_repair_names_a_folder_no_run_committed_and_fails(lake, capsys):
    """A Parquet file in a partition folder of a day without orders: nothing says how it was
    written, so repair cannot make it and says so (exit 3), leaving the data alone."""
    junk = lake / "orders" / "ingest_dt=2024-01-02" / "junk.parquet"
    junk.parent.mkdir()
    junk.write_bytes(b"PAR1")
    assert run(["generate", "-t", str(lake), "--repair", "--executor", "in-process"]) == 3
    assert "1 damaged, 0 repaired" in capsys.readouterr().out
    assert junk.exists()


def test_repair_falls_back_to_the_manifest_when_the_run_record_is_unreadable(lake, original):
    record = next((lake / "_runs").glob("*.json"))
    record.write_text("{ not json")
    _unlink("part-00000.parquet")(lake / "orders" / "ingest_dt=2024-01-04")
    result = repair(_options(lake))
    assert result.ok and result.repaired == ["orders/ingest_dt=2024-01-04"]
    assert _hashes(lake) == _hashes(original)


def test_repair_waits_for_no_one_while_another_run_holds_the_lake(lake, capsys):
    """The same lock as a run: a live writer means a one-line refusal, nothing touched."""
    lock = {"batch_id": "b", "host": socket.gethostname(), "pid": os.getpid(),
            "started_at": "2026-01-01T00:00:00+00:00", "token": "t"}  # fmt: skip
    (lake / "_lock.json").write_text(json.dumps(lock))
    _flip(_part(lake, "orders", "ingest_dt=2024-01-01"))
    before = _mtimes(lake)
    assert run(["generate", "-t", str(lake), "--repair"]) == 2
    assert "another run is writing" in capsys.readouterr().err
    assert _mtimes(lake) == before


def test_repair_after_a_rerun_that_replaced_the_run_record(lake, original):
    """Re-running with the same --batch-id overwrites `_runs/<batch>.json` with a record that
    committed nothing; the partitions it found committed (`kept`) are still known."""
    record = json.loads(next((lake / "_runs").glob("*.json")).read_text())
    same = {"batch_id": record["batch_id"], "ingestion_ts": record["ingestion_ts"], **UNPINNED}
    assert generate(load_config(QUICK), _options(lake, **same)).ok
    rerun = json.loads(next((lake / "_runs").glob("*.json")).read_text())
    assert all(not day["committed"] for day in rerun["days"])
    shutil.rmtree(lake / "customers" / "signup_dt=2023-11-11")
    shutil.rmtree(lake / "orders" / "ingest_dt=2024-01-04")
    result = repair(_options(lake))
    assert result.ok and len(result.repaired) == 2
    assert _hashes(lake) == _hashes(original)


def test_a_lake_replaced_while_the_repair_started_is_not_repaired(lake, monkeypatch):
    """The repair read the lake's identity before its lock: an --overwrite run of another seed
    that held the lock meanwhile would have had its lake repaired as the old one."""
    from ecomlake.run import repair as repairing

    real_tables = repairing._open_tables

    def open_tables_while_overwritten(*args, **kwargs):
        options = _options(lake, seed=7, overwrite=True, dates=(START,))
        assert generate(load_config(QUICK), replace(options, start_date=None, end_date=None)).ok
        return real_tables(*args, **kwargs)

    monkeypatch.setattr(repairing, "_open_tables", open_tables_while_overwritten)
    with pytest.raises(ConfigError, match="became another lake while this repair started"):
        repair(_options(lake))
    assert json.loads((lake / "_lake.json").read_text())["seed"] == 7
