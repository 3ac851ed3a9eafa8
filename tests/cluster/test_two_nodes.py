"""A two-node Ray cluster on 127.0.0.1: both nodes render days, the lake equals a local run,
and removing the worker node mid-run still completes with identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
QUICK = HERE.parents[1] / "gen_config" / "quick.yaml"
# Ten days of quick.yaml with 200 customers: ~115 partitions, so that the S3 run (moto answers
# ~150 requests/s) takes seconds, and removing the worker after 30 commits lands mid-run.
START, END = "2024-01-01", "2024-01-10"
CUSTOMERS = 200


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_runs" not in p.parts
    }


def _run_on_cluster(config: Path, target: str, mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(HERE / "two_node_run.py"), str(config), target, mode, START, END],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "RAY_AUTH_MODE": "disabled"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("mode", "target"), [("keep", "local"), ("remove", "s3")])
def test_cluster_run_equals_local_run(tmp_path, small_world, mode, target):
    """Both nodes render days into a shared target (a local folder both see, or S3 on a moto
    server); with the worker node removed mid-run its days are retried on the head."""
    where = str(tmp_path / "lake") if target == "local" else "s3"
    config, local_digest = small_world
    summary = _run_on_cluster(config, where, mode)
    assert summary["ok"], summary["failures"]
    if mode == "keep":
        assert len(summary["nodes"]) == 2, "both nodes should render days"
    else:
        assert summary["removed"], "the worker node was not removed mid-run"
    written = summary["s3"] if target == "s3" else _digest(tmp_path / "lake")
    assert written == local_digest


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The small config's file and the digest of its window written locally, in-process."""
    import datetime as dt

    from ecomlake.api import generate
    from ecomlake.config import load_config
    from ecomlake.run.driver import GenerateOptions

    folder = tmp_path_factory.mktemp("local")
    text = QUICK.read_text()
    assert "num_customers: 2000" in text
    config = folder / "small.yaml"
    config.write_text(text.replace("num_customers: 2000", f"num_customers: {CUSTOMERS}"))
    result = generate(load_config(config), GenerateOptions(
        target=str(folder / "lake"), executor="in-process", batch_id="cluster",
        start_date=dt.date.fromisoformat(START), end_date=dt.date.fromisoformat(END),
        ingestion_ts="2024-04-01T00:00:00+00:00"))  # fmt: skip
    assert result.ok
    return config, _digest(folder / "lake")
