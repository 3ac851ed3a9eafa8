"""`ecomlake verify`: a clean lake passes, each kind of corruption fails with exit 1."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ecomlake.cli.app import run
from ecomlake.lake import resolve_target
from ecomlake.lake.lock import LOCK_FILE, LakeLock, LockInfo

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("verify") / "lake"
    code = run(["generate", "-c", str(QUICK), "-t", str(root), "--end-date", "2024-01-31",
                "--executor", "in-process", "--no-progress", "--batch-id", "v",
                "--ingestion-ts", "2024-04-01T00:00:00+00:00"])  # fmt: skip
    assert code == 0
    return root


@pytest.fixture
def broken(lake, tmp_path) -> Path:
    return Path(shutil.copytree(lake, tmp_path / "lake"))


def test_clean_lake_passes(lake, capsys):
    assert run(["verify", str(lake), "--config", str(QUICK)]) == 0
    out = capsys.readouterr().out
    assert "manifests: ok" in out and "invariants: ok" in out and "result: ok" in out


def test_log_flags_take_any_case(lake, capsys):
    assert run(["verify", str(lake), "--log-level", "INFO", "--log-format", "Text"]) == 0
    assert run(["verify", str(lake), "--log-level", "loud"]) == 2


def test_json_report(lake, capsys):
    assert run(["verify", str(lake), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["violations"] == []


def _delete_part(root: Path) -> None:
    (root / "orders" / "ingest_dt=2024-01-20" / "part-00000.parquet").unlink()


def _truncate(root: Path) -> None:
    path = root / "cart_items" / "ingest_dt=2024-01-15" / "part-00000.parquet"
    path.write_bytes(path.read_bytes()[:200])


def _garble(root: Path) -> None:
    """Same size, not Parquet: found by reading it (a size that differs is found first)."""
    path = root / "cart_items" / "ingest_dt=2024-01-15" / "part-00000.parquet"
    path.write_bytes(bytes(path.stat().st_size))


def _row_count(root: Path) -> None:
    path = root / "shopping_carts" / "ingest_dt=2024-01-10" / "_MANIFEST.json"
    manifest = json.loads(path.read_text())
    manifest["files"][0]["rows"] += 1
    manifest["total_rows"] += 1
    path.write_text(json.dumps(manifest))


def _batch_id(root: Path) -> None:
    """A manifest naming another batch than its files were written by (only --deep saw it)."""
    path = root / "orders" / "ingest_dt=2024-01-05" / "_MANIFEST.json"
    manifest = json.loads(path.read_text())
    manifest["batch_id"] = "zz"
    path.write_text(json.dumps(manifest))


def _no_success(root: Path) -> None:
    (root / "returns" / "ingest_dt=2024-01-25" / "_SUCCESS").unlink(missing_ok=False)


def _orphan_fk(root: Path) -> None:
    partition = root / "customers" / "signup_dt=2024-01-05"
    shutil.rmtree(partition)


@pytest.mark.parametrize(
    ("corrupt", "check"),
    [
        (_delete_part, "manifests.file_missing"),
        (_truncate, "manifests.size"),
        (_garble, "manifests.unreadable"),
        (_row_count, "manifests.row_count"),
        (_batch_id, "manifests.batch_id"),
        (_no_success, "manifests.success_missing"),
        (_orphan_fk, "fk.orders.customer_id"),
    ],
)
def test_each_corruption_is_found(broken, capsys, corrupt, check):
    corrupt(broken)
    assert run(["verify", str(broken), "--format", "json"]) == 1
    found = {v["check"] for v in json.loads(capsys.readouterr().out)["violations"]}
    assert check in found, found


def test_mixed_config_is_found(broken, capsys):
    path = broken / "orders" / "ingest_dt=2024-01-12" / "_MANIFEST.json"
    manifest = json.loads(path.read_text())
    manifest["seed"] = 99
    path.write_text(json.dumps(manifest))
    assert run(["verify", str(broken), "--format", "json"]) == 1
    found = {v["check"] for v in json.loads(capsys.readouterr().out)["violations"]}
    assert "manifests.identity_mismatch" in found


def test_no_lake_is_bad_input(tmp_path, capsys):
    assert run(["verify", str(tmp_path / "nothing")]) == 2
    assert "target: no lake at" in capsys.readouterr().err


def test_rows_read_back_match_manifests(lake):
    for table in ("orders", "cart_items"):
        files = sorted((lake / table).glob("*/part-*.parquet"))
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        listed = sum(json.loads((f.parent / "_MANIFEST.json").read_text())["total_rows"]
                     for f in files)  # fmt: skip
        assert rows == listed > 0


def test_a_run_writing_the_lake_is_named(broken, capsys):
    """A live lock (this process) is named; a stale one (a pid that is gone) is not."""
    with LakeLock(resolve_target(str(broken)), "busy"):
        assert run(["verify", str(broken), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["run_writing"].startswith("batch busy, pid ")
    dead = dataclasses.replace(LockInfo.current("gone"), pid=2**22 + 1)  # above pid_max
    (broken / LOCK_FILE).write_bytes(dead.payload())
    assert run(["verify", str(broken)]) == 0
    assert "a run is writing" not in capsys.readouterr().out


def test_a_lake_a_run_is_writing_gets_no_re_run_or_repair_advice(broken, capsys):
    """Its missing days may only be pending: a re-run or a repair would meet the lock."""
    shutil.rmtree(broken / "orders" / "ingest_dt=2024-01-12")
    assert run(["verify", str(broken)]) == 1
    assert "repair: " in capsys.readouterr().out  # the advice without a run writing
    with LakeLock(resolve_target(str(broken)), "busy"):
        assert run(["verify", str(broken)]) == 1
        out = capsys.readouterr().out
        assert run(["verify", str(broken), "--format", "json"]) == 1
    assert out.splitlines()[-1].startswith("wait: the run writing this lake is not done")
    assert "repair: " not in out and "re-run: " not in out
    report = json.loads(capsys.readouterr().out)
    assert report["repair_command"] is None and report["rerun_needed"] is False


@pytest.mark.parametrize("limit", ["1KB", "20MB"])  # at the start; inside one check
def test_a_memory_limit_too_small_is_bad_input_not_damage(lake, capsys, limit):
    assert run(["verify", str(lake), "--memory-limit", limit]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: --memory-limit: the invariants need more than {limit}")
    assert len(captured.err.strip().splitlines()) == 1 and "repair:" not in captured.out


@pytest.mark.parametrize("body", ["{}", "not json"])  # the other shapes: test_lake_file_problems
def test_a_damaged_lake_file_says_what_is_wrong_and_overwrite_replaces_it(broken, capsys, body):
    (broken / "_lake.json").write_text(body)
    assert run(["verify", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"error: --target: {broken / '_lake.json'} is damaged (")
        and len(err.splitlines()) == 1
    )
    assert "--overwrite" not in err and "LakeIdentity" not in err  # verify cannot overwrite
    args = ["generate", "-c", str(QUICK), "-t", str(broken), "--end-date", "2024-01-31",
            "--executor", "in-process", "--no-progress"]  # fmt: skip
    assert run(args) == 2
    assert "pass --overwrite to replace the lake" in capsys.readouterr().err
    assert run([*args, "--overwrite"]) == 0
    assert run(["verify", str(broken)]) == 0


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{}", "no seed, config_fingerprint, generator_version, world_start, world_end"),
        ("[1]", "not a JSON object"),
        ('{"seed": "7", "config_fingerprint": "f", "generator_version": "v", '
         '"world_start": "2024-01-01", "world_end": "2024-01-02"}', "seed '7' is not a whole"),
        ('{"seed": 7, "config_fingerprint": 1, "generator_version": "v", '
         '"world_start": "2024-01-01", "world_end": "2024-01-02"}', "config_fingerprint is not"),
        ('{"seed": 7, "config_fingerprint": "f", "generator_version": "v", "world_start": "a", '
         '"world_end": "b", "colour": 1}', "unknown key 'colour'"),
        ('{"seed": 7, "config_fingerprint": "f", "generator_version": "v", '
         '"world_start": "2024-13-01", "world_end": "2024-01-02"}', "world_start '2024-13-01' is"),
    ],
)  # fmt: skip
def test_lake_file_problems(tmp_path, body, problem):
    from ecomlake.errors import OptionError
    from ecomlake.lake.identity import read_identity

    (tmp_path / "_lake.json").write_text(body)
    with pytest.raises(OptionError, match="is damaged \\(" + problem.replace("(", "\\(")):
        read_identity(resolve_target(str(tmp_path)))
