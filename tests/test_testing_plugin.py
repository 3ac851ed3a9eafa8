"""ecomlake.testing from a user's project: a pytest run in a fresh folder with the plugin on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

USER_TESTS = """
import datetime as dt
import shutil
import time

import pyarrow.parquet as pq


def test_a_days_tables(ecomlake_day):
    tables = ecomlake_day("2024-02-15", tables=["orders", "order_items"])
    assert set(tables) == {"orders", "order_items"}
    assert tables["orders"].num_rows > 0
    t0 = time.perf_counter()
    ecomlake_day(dt.date(2024, 2, 16))
    print(f"DAY_SECONDS {time.perf_counter() - t0:.3f}")


def test_a_small_lake(ecomlake_lake, tmp_path):
    lake = ecomlake_lake("2024-02-15", days=2)
    assert lake.parent == tmp_path
    orders = pq.read_table(lake / "orders" / "ingest_dt=2024-02-16")
    assert orders.num_rows > 0
    shutil.rmtree(lake / "orders")  # a private copy: the next test still has its orders


def test_the_session_generates_a_lake_once(ecomlake_lake, tmp_path):
    t0 = time.perf_counter()
    lake = ecomlake_lake("2024-02-15", days=2)
    print(f"LAKE_SECONDS {time.perf_counter() - t0:.3f}")
    assert (lake / "orders" / "ingest_dt=2024-02-16" / "_SUCCESS").exists()


def test_the_same_bytes_every_time(ecomlake_day):
    assert ecomlake_day("2024-03-01")["orders"].equals(ecomlake_day("2024-03-01")["orders"])


def test_damaging_the_shared_lake(ecomlake_lakes):
    shutil.rmtree(ecomlake_lakes("2024-02-15", days=2) / "orders")


def test_the_next_test_gets_it_whole_again(ecomlake_lakes):
    lake = ecomlake_lakes("2024-02-15", days=2)
    assert (lake / "orders" / "ingest_dt=2024-02-16" / "_SUCCESS").exists()
"""


def _user_project(root: Path, ini: str) -> Path:
    root.mkdir()
    shutil.copy(REPO / "gen_config" / "quick.yaml", root / "world.yaml")
    (root / "pytest.ini").write_text(f"[pytest]\n{ini}\n", encoding="utf-8")
    (root / "conftest.py").write_text('pytest_plugins = ["ecomlake.testing"]\n', encoding="utf-8")
    (root / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
    return root


def _pytest(project: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_plugin_gives_a_users_suite_tables_and_a_lake(tmp_path):
    done = _pytest(_user_project(tmp_path / "user", "ecomlake_config = world.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout
    assert "was changed by a test" in done.stdout  # the damaged shared lake was made again
    seconds = dict(re.findall(r"(DAY|LAKE)_SECONDS ([0-9.]+)", done.stdout))
    assert set(seconds) == {"DAY", "LAKE"}, done.stdout
    print(f"plan cached: a day's tables {seconds['DAY']} s, a lake's copy {seconds['LAKE']} s")
    assert float(seconds["DAY"]) < 5.0  # well under a second on an idle machine; not re-planned


@pytest.mark.slow
def test_plugin_without_a_config_says_how_to_name_one(tmp_path):
    done = _pytest(_user_project(tmp_path / "user", ""))
    assert done.returncode != 0
    assert "ecomlake_config: name the world's YAML config in the pytest ini file" in (
        done.stdout + done.stderr
    )
