"""A disk that fills up during a run, on a real small tmpfs: every error is printed once, the
command exits 3, and the lake holds no `_SUCCESS` without its manifest and files; a disk that is
already full fails the preflight (exit 2) and leaves nothing behind.

Mounting needs root (or CAP_SYS_ADMIN); where it is not allowed the tests skip and say so.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICK = str(REPO / "gen_config" / "quick.yaml")
SIZE = "2m"  # the quick world's first days fit, the rest do not (~160 of ~320 partitions)


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted at a fresh folder, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _generate(target: Path) -> subprocess.CompletedProcess:
    args = ["generate", "-c", QUICK, "-t", str(target), "--start-date", "2024-01-01",
            "--end-date", "2024-01-10", "--executor", "in-process", "--no-progress",
            "--log-level", "warning"]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "ecomlake", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ECOMLAKE_PLAN_CACHE": str(target.parent / "plans")},
    )


def test_disk_filling_up_fails_the_days_that_do_not_fit(small_disk):
    lake = small_disk / "lake"
    done = _generate(lake)
    assert done.returncode == 3, done.stderr
    err = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    failed = [line for line in err if " failed: " in line and "ERROR" in line]
    days = [line.split("day ", 1)[1].split()[0] for line in failed if "day " in line]
    assert days and len(days) == len(set(days)), err  # one line per failed day, each once
    assert all("No space left on device" in line for line in failed)
    assert len(err) == len(failed) + 1, err  # + the run manifest that could not be written
    assert "run manifest not written" in err[-1]
    summary = next(line for line in done.stdout.splitlines() if line.startswith("days committed"))
    assert f"failed: {len(days)} ({', '.join(sorted(days))}: each error is logged above)" in summary
    _assert_committed_partitions_whole(lake)


def _assert_committed_partitions_whole(lake: Path) -> None:
    """Every `_SUCCESS` has its manifest and every listed file with its sha256; no temp files
    and no lock are left."""
    successes = sorted(lake.rglob("_SUCCESS"))
    assert successes
    for marker in successes:
        manifest = json.loads((marker.parent / "_MANIFEST.json").read_text())
        for entry in manifest["files"]:
            data = (lake / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["checksum"], entry["path"]
    assert not [p for p in lake.rglob("*") if ".tmp-" in p.name]
    assert not (lake / "_lock.json").exists()


def test_full_disk_fails_in_the_preflight(small_disk):
    with open(small_disk / "filler", "wb", buffering=0) as handle, pytest.raises(OSError):
        while True:  # until ENOSPC
            handle.write(b"\0" * 4096)
    done = _generate(small_disk / "lake")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: --target: no space left for {small_disk / 'lake'} (0 bytes free)"
    ]
    assert not (small_disk / "lake").exists()


def test_summary_names_failed_days_without_repeating_their_errors(capfd):
    """The driver logs each day's error as it happens; the summary must not print it again."""
    import datetime as dt

    from ecomlake.cli.output import print_summary
    from ecomlake.run.driver import RunResult
    from ecomlake.run.executors import DayFailure

    error = "CommitError: orders/ingest_dt=2024-01-02: commit failed: No space left on device"
    result = RunResult(
        batch_id="b", target="/lake", world_start=dt.date(2024, 1, 1),
        world_end=dt.date(2024, 1, 2), reproducible=True, results=[],
        failures=[DayFailure("2024-01-02", error)], plan_seconds=0.0, total_seconds=1.0,
        manifest_path="_runs/b.json",
    )  # fmt: skip
    print_summary(result)
    out, err = capfd.readouterr()  # fd level: rich's stderr console bypasses sys.stderr
    assert error not in out + err
    assert "failed: 1 (2024-01-02: each error is logged above)" in out
