"""P1: a day's bytes depend only on (config, seed, day), whatever runs them and however split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ecomlake.api import generate
from ecomlake.config import load_config
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[2]
PINNED = {"batch_id": "det", "ingestion_ts": "2024-04-01T00:00:00+00:00"}
START, END = "2024-02-01", "2024-02-21"


def _digest(root: Path) -> dict[str, str]:
    """sha256 of every file of the lake except the run manifests (they hold timings)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_runs" not in p.parts
    }


def _run(target: Path, **overrides) -> dict[str, str]:
    import datetime as dt

    fields = {"start_date": dt.date.fromisoformat(START), "end_date": dt.date.fromisoformat(END)}
    fields.update(PINNED)
    fields.update(overrides)
    result = generate(
        load_config(REPO / "gen_config/quick.yaml"), GenerateOptions(target=str(target), **fields)
    )
    assert result.ok, result.failures
    return _digest(target)


def _first_difference(a: dict[str, str], b: dict[str, str]) -> str:
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            return name
    return ""


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> dict[str, str]:
    return _run(tmp_path_factory.mktemp("inproc"), executor="in-process")


def test_lake_is_not_empty(in_process):
    tables = {name.split("/")[0] for name in in_process if "/" in name}
    assert tables == {
        "customers", "product_catalog", "shopping_carts", "cart_items",
        "orders", "order_items", "returns", "return_items",
    }  # fmt: skip


@pytest.mark.ray
@pytest.mark.parametrize("workers", [1, 2])
def test_ray_equals_in_process(ray_session, tmp_path, in_process, workers):
    on_ray = _run(tmp_path, executor="ray", workers=workers)
    assert on_ray == in_process, _first_difference(on_ray, in_process)


def test_split_run_equals_whole(tmp_path, in_process):
    import datetime as dt

    target = tmp_path / "split"
    _run(target, executor="in-process", end_date=dt.date(2024, 2, 10))
    halves = _run(target, executor="in-process", start_date=dt.date(2024, 2, 11))
    assert halves == in_process, _first_difference(halves, in_process)


def test_rerun_gives_identical_bytes(tmp_path, in_process):
    again = _run(tmp_path, executor="in-process")
    assert again == in_process


def test_seed_changes_the_data(tmp_path, in_process):
    other = _run(tmp_path, executor="in-process", seed=7)
    changed = [k for k in in_process if k.endswith(".parquet") and other.get(k) != in_process[k]]
    assert len(changed) > len(in_process) // 8


def test_plan_cache_changes_no_byte(tmp_path, in_process):
    """A run that plans afresh and one that loads the plan the session cached give the same lake."""
    fresh = _run(tmp_path / "fresh", executor="in-process", plan_cache=False)
    cached = _run(tmp_path / "cached", executor="in-process", plan_cache=True)
    assert fresh == cached == in_process, _first_difference(fresh, cached)


def test_days_rendered_while_ray_starts_are_the_same_bytes(tmp_path, quick_lake):
    """A fresh process starting its own local Ray renders days in-process meanwhile (node
    `local` in the run manifest); the lake equals the in-process one, whoever did which day."""
    import json
    import os
    import subprocess
    import sys

    target = tmp_path / "lake"
    args = ["generate", "-c", str(REPO / "gen_config/quick.yaml"), "-t", str(target),
            "--executor", "ray", "--workers", "2", "--no-progress", "--batch-id", "test",
            "--ingestion-ts", "2024-04-01T00:00:00+00:00"]  # fmt: skip
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "TMPDIR": "/tmp"}  # short socket paths
    done = subprocess.run(
        [sys.executable, "-m", "ecomlake", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((target / "_runs" / "test.json").read_text())
    nodes = [day["node_id"] for day in manifest["days"]]
    assert len(nodes) == 91 and "local" in nodes, nodes
    assert _digest(target) == _digest(quick_lake), _first_difference(
        _digest(target), _digest(quick_lake)
    )


def test_plan_in_blocks_equals_one_piece(tmp_path, in_process):
    """Customer blocks of 250 (8 blocks), in-process: the lake of the one-piece plan."""
    blocked = _run(tmp_path, executor="in-process", block_customers=250)
    assert blocked == in_process, _first_difference(blocked, in_process)


@pytest.mark.ray
def test_blocks_planned_while_ray_starts_equal_in_process(
    ray_session, tmp_path, in_process, monkeypatch, caplog
):
    """The driver plans the first blocks itself while its Ray starts (here: joins the session's
    Ray after a second and a half), then hands the rest to Ray: the same lake."""
    import logging
    import time

    from ecomlake.run.executors import RayExecutor

    start = RayExecutor.start

    def slow_start(self, warm: bool = False) -> None:
        time.sleep(1.5)
        start(self, warm)

    monkeypatch.setattr(RayExecutor, "starts_local_ray", lambda self: True)
    monkeypatch.setattr(RayExecutor, "start", slow_start)
    with caplog.at_level(logging.INFO, logger="ecomlake.run.driver"):
        blocked = _run(tmp_path, executor="ray", workers=2, block_customers=100)
    assert blocked == in_process, _first_difference(blocked, in_process)
    planned_here = [r.getMessage() for r in caplog.records if "while Ray started" in r.getMessage()]
    assert planned_here and not planned_here[0].startswith("0 "), planned_here


@pytest.mark.ray
def test_plan_in_blocks_on_ray_equals_in_process(ray_session, tmp_path, in_process):
    """Blocks planned as Ray tasks, pieces fetched from the object store by the day tasks."""
    blocked = _run(tmp_path, executor="ray", workers=2, block_customers=333)
    assert blocked == in_process, _first_difference(blocked, in_process)
