"""`ecomlake submit` against a real job server: same bytes as a local run, statuses, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ecomlake.cli.app import run

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
GENERATE = ["generate", "-c", "gen_config/quick.yaml", "--start-date", "2024-01-01",
            "--end-date", "2024-01-07", "--executor", "in-process", "--no-progress",
            "--batch-id", "job", "--ingestion-ts", "2024-04-01T00:00:00+00:00"]  # fmt: skip


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_runs" not in p.parts
    }


def test_submitted_generate_equals_a_local_run(ray_head, tmp_path, capsys):
    remote, local = tmp_path / "remote", tmp_path / "local"
    code = run(["submit", "--address", ray_head, "--working-dir", str(REPO), "--",
                *GENERATE, "--target", str(remote)])  # fmt: skip
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out + captured.err
    assert "raysubmit_" in out and "days committed: 7, failed: 0" in out
    assert run([*GENERATE, "--target", str(local)]) == 0
    assert _digest(remote) == _digest(local)


def test_no_wait_then_status_and_logs(ray_head, tmp_path, capsys):
    code = run(["submit", "--address", ray_head, "--working-dir", str(REPO), "--no-wait", "--",
                "--version"])  # fmt: skip
    assert code == 0
    job_id = capsys.readouterr().out.strip().splitlines()[-1]
    assert job_id.startswith("raysubmit_")
    import time

    for _ in range(120):
        run(["submit", "--address", ray_head, "--status", job_id])
        state = capsys.readouterr().out.strip()
        if state in ("SUCCEEDED", "FAILED", "STOPPED"):
            break
        time.sleep(0.5)
    assert state == "SUCCEEDED"
    assert run(["submit", "--address", ray_head, "--logs", job_id]) == 0
    assert "0.1.0" in capsys.readouterr().out


def test_failing_job_returns_its_exit_code(ray_head, capsys):
    code = run(["submit", "--address", ray_head, "--working-dir", str(REPO), "--",
                "generate", "-c", "gen_config/missing.yaml"])  # fmt: skip
    assert code == 2
    assert "config: file not found" in capsys.readouterr().out


def test_unreachable_job_server_is_a_clear_error(capsys):
    assert run(["submit", "--address", "http://127.0.0.1:9", "--", "--version"]) == 2
    assert "cannot reach the Ray job server at http://127.0.0.1:9" in capsys.readouterr().err


def test_unknown_job_id(ray_head, capsys):
    assert run(["submit", "--address", ray_head, "--status", "raysubmit_nope"]) == 2
    assert "no job 'raysubmit_nope'" in capsys.readouterr().err
