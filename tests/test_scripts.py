"""The shell scripts in scripts/ run for real (their short forms)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_smoke_test_script_passes_and_cleans_up(tmp_path):
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "smoke_test.sh")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "TMPDIR": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke test: passed" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_backlog_script_accepts_a_day_range(tmp_path):
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "backlog.sh"), "--dates", "2020-01-05",
         "--executor", "in-process", "--no-progress"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "TARGET": str(tmp_path / "lake")},
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "lake" / "orders" / "ingest_dt=2020-01-05" / "_SUCCESS").exists()
    assert (tmp_path / "lake" / "_runs" / "backlog.json").exists()
