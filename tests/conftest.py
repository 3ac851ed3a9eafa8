"""Shared fixtures: one local Ray instance for the whole session, started only if a test asks;
and the test tiers: `-m "not slow"` keeps the in-process tests, the full suite runs everything."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from short_paths import short_temp_dir

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a token-less client must reach our own Ray


# A test that asks for one of these starts a process or a server (Ray, a `ray start` head, moto,
# the GCS emulator): seconds of start-up each, so it belongs to the full suite, not the fast tier.
PROCESS_FIXTURES = frozenset(
    {"ray_session", "ray_head", "moto_server", "gcs_server", "flaky_proxy"}
)
PROCESS_FOLDERS = frozenset({"cluster", "storage"})
# Whole lakes, CLI subprocesses and the bench: each module takes 5-60 s, so the fast tier (the
# loop while coding, under two minutes) leaves them to the full suite.
LAKE_MODULES = frozenset(
    {
        "test_bench_smoke.py",
        "test_scripts.py",
        "test_invariants.py",
        "test_determinism.py",
        "test_verify_expected.py",
        "test_resume.py",
        "test_repair.py",
        "test_interrupt.py",
        "test_auto_executor.py",
        "test_daily.py",
        "test_hooks.py",
        "test_verify_scale.py",
        "test_verify_cli.py",
        "test_full_disk.py",
        "test_mess_apply.py",
        "test_mess_lake.py",
        "test_trio_export_raw.py",
    }
)


# The longest modules (about 1-3 min each on two busy workers), longest first. With
# `-n 2 --dist loadfile` a module runs whole on one worker in collection order, so starting these
# first keeps one worker from running a long module alone at the end of the suite.
LONGEST_FIRST = (
    "test_bench_smoke.py",
    "test_interrupt.py",
    "test_tables_remote.py",
    "test_targets.py",
    "test_faults.py",
    "test_timeouts.py",
    "test_two_nodes.py",
    "test_mess_lake.py",
    "test_partial_and_year.py",
    "test_verify_remote.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `slow` whatever starts processes or servers or writes whole lakes, so the fast tier
    stays small and in-process; then put the longest modules first."""
    slow = pytest.mark.slow
    for item in items:
        path = Path(str(item.path))
        heavy = path.parent.name in PROCESS_FOLDERS or path.name in LAKE_MODULES
        if heavy or PROCESS_FIXTURES.intersection(item.fixturenames):
            item.add_marker(slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.path)).name, len(rank)))  # stable


@pytest.fixture(scope="session", autouse=True)
def plan_cache_dir(tmp_path_factory) -> Path:
    """Every run of the session (CLI subprocesses too) caches plans here, not in ~/.cache."""
    from ecomlake.plan.cache import CACHE_ENV

    folder = tmp_path_factory.mktemp("plans")
    os.environ[CACHE_ENV] = str(folder)
    return folder


@pytest.fixture(scope="session")
def ray_session():
    """A 2-CPU local Ray that every Ray test shares; executors reuse it and never shut it down."""
    import ray

    temp = short_temp_dir("ray")
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=256 * 1024 * 1024,
        log_to_driver=False,
        _temp_dir=temp,
    )
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
