"""Verify at scale: DuckDB held to --memory-limit in a temp folder that always goes, and the
partition checks on Ray giving the same report as in one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecomlake import api
from ecomlake.cli.app import run
from ecomlake.errors import ConfigError, StorageError
from ecomlake.verify import check_invariants
from ecomlake.verify.manifests import check_batch
from ecomlake.verify.on_ray import map_batches
from ecomlake.verify.workspace import FOLDER_PREFIX, remove_stale_folders, work_folder

REPO = Path(__file__).resolve().parents[2]
HANG_BOUND_SECONDS = 60  # generous: only "it did not hang"


def _report(report) -> dict:
    body = json.loads(report.to_json())
    body.pop("seconds")
    return body


def _damage(root: Path) -> None:
    """Breaks spread over many partitions (and so over several batches of them)."""
    for table, day in (("orders", "01-20"), ("returns", "02-25"), ("cart_items", "03-05"),
                       ("shopping_carts", "01-03"), ("order_items", "02-02")):  # fmt: skip
        (root / table / f"ingest_dt=2024-{day}" / "_SUCCESS").unlink()
    manifest = root / "shopping_carts" / "ingest_dt=2024-01-10" / "_MANIFEST.json"
    data = json.loads(manifest.read_text())
    data["files"][0]["rows"] += 1
    data["total_rows"] += 1
    manifest.write_text(json.dumps(data))
    (root / "orders" / "ingest_dt=2024-03-02" / "part-00000.parquet").unlink()
    signups = sorted((root / "customers").iterdir())
    for folder in signups[-40:-37]:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def _truncate(root: Path) -> Path:
    path = root / "cart_items" / "ingest_dt=2024-01-15" / "part-00000.parquet"
    path.write_bytes(path.read_bytes()[:200])
    return path


# --- memory limit ---------------------------------------------------------------------------


def test_a_small_memory_limit_still_completes(quick_lake, quick_config, tmp_path):
    """32 MB: DuckDB spills what does not fit, and every rule runs."""
    found = check_invariants(str(quick_lake), quick_config, memory_limit="32MB")
    assert found == [], [v.detail for v in found]


def test_the_memory_limit_is_what_duckdb_gets(quick_lake):
    """Below what DuckDB needs at all, the rules run out of memory: it is applied (and verify
    reports it as a limit too small, not as damage: tests/cli/test_verify_cli.py)."""
    import duckdb

    with pytest.raises(duckdb.OutOfMemoryException):
        check_invariants(str(quick_lake), memory_limit="4MB")


def test_a_bad_memory_limit_is_bad_input(quick_lake, capsys):
    assert run(["verify", str(quick_lake), "--memory-limit", "lots"]) == 2
    assert "--memory-limit" in capsys.readouterr().err


# --- temp folder ----------------------------------------------------------------------------


def test_temp_folder_removed_after_a_run(quick_lake, tmp_path):
    assert check_invariants(str(quick_lake), temp_parent=str(tmp_path)) == []
    assert os.listdir(tmp_path) == []


def test_temp_folder_removed_after_a_failure(lake_copy, tmp_path):
    import duckdb

    work = tmp_path / "work"
    work.mkdir()
    _truncate(lake_copy)
    with pytest.raises(duckdb.Error, match=r"part-00000\.parquet"):
        check_invariants(str(lake_copy), temp_parent=str(work))
    assert os.listdir(work) == []


def test_an_unusable_temp_folder_is_bad_input(quick_lake, tmp_path):
    """A work folder that cannot be made is the user's to fix, in one line (exit 2)."""
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"cannot make its work folder in .*TMPDIR"):
        check_invariants(str(quick_lake), temp_parent=str(tmp_path / "file"))


@pytest.mark.slow
def test_folder_of_a_killed_verify_is_removed_by_the_next(quick_lake, tmp_path):
    """SIGKILL leaves no chance to clean up: the next verify removes the dead process's folder
    and leaves the folder of a verify still running alone."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecomlake", "verify", str(quick_lake)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + HANG_BOUND_SECONDS
    while not list(tmp_path.glob(f"{FOLDER_PREFIX}*/.lock")):
        assert proc.poll() is None, "verify ended before its work folder was seen"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=HANG_BOUND_SECONDS)
    assert len(list(tmp_path.glob(f"{FOLDER_PREFIX}*"))) == 1
    with work_folder(str(tmp_path)) as running:
        assert check_invariants(str(quick_lake), temp_parent=str(tmp_path)) == []
        assert [p.name for p in tmp_path.iterdir()] == [Path(running).name]
    assert remove_stale_folders(str(tmp_path)) == [] and list(tmp_path.iterdir()) == []


# --- Ray ------------------------------------------------------------------------------------


@pytest.mark.ray
@pytest.mark.slow
def test_ray_report_equals_local_on_a_damaged_lake(ray_session, lake_copy, quick_config):
    _damage(lake_copy)
    local = api.verify(str(lake_copy), quick_config)
    address = ray_session.get_runtime_context().gcs_address
    on_ray = api.verify(str(lake_copy), quick_config, ray_address=address)
    assert not local.ok
    checks = {v.check for v in local.violations}
    assert {"manifests.success_missing", "manifests.row_count", "manifests.file_missing"} <= checks
    assert "fk.orders.customer_id" in checks
    assert _report(on_ray) == _report(local)


@pytest.mark.ray
def test_ray_cli_flag_gives_the_local_report(ray_session, lake_copy, capsys):
    _truncate(lake_copy)
    assert run(["verify", str(lake_copy), "--format", "json"]) == 1
    local = json.loads(capsys.readouterr().out)
    address = ray_session.get_runtime_context().gcs_address
    assert run(["verify", str(lake_copy), "--format", "json", "--ray-address", address]) == 1
    on_ray = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in on_ray.items() if k != "seconds"} == {
        k: v for k, v in local.items() if k != "seconds"
    }
    assert "manifests.size" in {v["check"] for v in local["violations"]}


def test_dead_ray_address_is_bad_input(quick_lake, capsys):
    assert run(["verify", str(quick_lake), "--ray-address", "127.0.0.1:1"]) == 2
    assert "--ray-address" in capsys.readouterr().err


@pytest.mark.ray
def test_a_stuck_batch_ends_the_wait(ray_session):
    t0 = time.monotonic()
    with pytest.raises(StorageError, match=r"no batch of partitions finished within 0\.5 s"):
        list(map_batches(lambda s: time.sleep(s), [(8,)], wait_seconds=0.5))
    assert time.monotonic() - t0 < HANG_BOUND_SECONDS


@pytest.mark.ray
def test_a_failed_batch_is_one_line_and_keeps_the_tool_s_error(ray_session):
    with pytest.raises(ConfigError, match="unsupported scheme 'ftp'"):
        list(map_batches(check_batch, [("ftp://host/lake", None, None, [])]))
    with pytest.raises(StorageError, match=r"a batch failed \(ValueError: .*'many'"):
        list(map_batches(lambda text: int(text), [("many",)]))
