"""`--executor auto` on a multi-day run: the plan's work estimate is exact, and a small world's
run stays in-process unless a local Ray would pay for its start (run/sizing.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ecomlake.api import generate
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.errors import ConfigError
from ecomlake.plan import memory
from ecomlake.plan.cache import default_cache_dir, load_or_build_world
from ecomlake.plan.calendar import day_number
from ecomlake.run import driver, sizing
from ecomlake.run.days import assign_tasks, spread_backlog
from ecomlake.run.driver import GenerateOptions
from ecomlake.run.sizing import WorkEstimate, estimate_work, plans_quickly
from ecomlake.run.window import DayChoice

REPO = Path(__file__).resolve().parents[2]
QUICK_CONFIG = REPO / "gen_config" / "quick.yaml"
PINNED = {"batch_id": "test", "ingestion_ts": "2024-04-01T00:00:00+00:00"}


def _estimate(cfg, start: dt.date | None = None, days: int | None = None) -> WorkEstimate:
    window = DayChoice("t", start_date=start, days=days).window(cfg, dt.date(2026, 1, 1))
    first, last, run_days = window.start, window.end, window.days
    world, _ = load_or_build_world(
        cfg, cfg.faker_seed, day_number(first), day_number(last), default_cache_dir()
    )
    return estimate_work(world, spread_backlog(assign_tasks(run_days, world.signup_days())))


@pytest.mark.parametrize(("start", "days"), [(None, None), (dt.date(2024, 2, 10), 5)])
def test_estimate_is_the_rows_and_partitions_a_run_writes(quick_config, tmp_path, start, days):
    estimate = _estimate(quick_config, start, days)
    options = GenerateOptions(
        target=str(tmp_path), executor="in-process", start_date=start, days=days, **PINNED
    )
    result = generate(quick_config, options)
    assert result.ok, result.failures
    assert estimate.rows == result.total_rows
    assert estimate.partitions == sum(r.partitions for r in result.results)
    assert estimate.partitions == len(list(tmp_path.glob("*/*/_SUCCESS")))


@pytest.mark.parametrize(
    ("partitions", "rows", "workers", "pays_off"),
    [
        (793, 13_853, 2, False),  # the quick world: ~2.4 s of work
        (1_818, 1_793_205, 2, True),  # 30 backlog days: ~12.6 s, 6.3 s saved on two cores
        (1_818, 1_793_205, 1, False),  # one worker: Ray could only add its start-up
        (400, 300_000, 2, False),  # ~2.4 s saved, less than Ray's ~5 s
        (400, 300_000, 16, False),
        (1_000, 1_000_000, 16, True),
    ],
)
def test_a_local_ray_is_started_only_when_it_saves_more_than_it_costs(
    partitions, rows, workers, pays_off
):
    assert WorkEstimate(partitions, rows).local_ray_pays_off(workers) is pays_off


def test_only_small_worlds_are_planned_before_choosing(quick_config):
    assert plans_quickly(quick_config)
    assert not plans_quickly(load_config(REPO / "gen_config" / "backlog.yaml"))


def test_auto_runs_the_quick_world_in_process(tmp_path, capsys):
    code = run(["generate", "-c", str(QUICK_CONFIG), "-t", str(tmp_path), "--no-progress",
                "--batch-id", "test", "--workers", "2"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    manifest = json.loads((tmp_path / "_runs" / "test.json").read_text())
    assert manifest["executor"] == "in-process"
    assert {day["node_id"] for day in manifest["days"]} == {"local"}
    assert len(manifest["days"]) == 91
    assert "in-process (" in out  # the summary says where the days ran


@pytest.mark.ray
def test_auto_takes_ray_when_the_work_pays_for_it(ray_session, tmp_path, monkeypatch):
    monkeypatch.setattr(sizing, "LOCAL_RAY_SECONDS", 0.5)  # the quick world's ~2.4 s now pays
    options = GenerateOptions(target=str(tmp_path), workers=2, **PINNED)
    result = generate(load_config(QUICK_CONFIG), options)
    assert result.ok, result.failures
    assert result.executor == "ray"
    assert any(r.node_id != "local" for r in result.results)


@pytest.mark.parametrize(
    ("flags", "held"),
    [
        ([], "the driver's summaries of its 1,000,000 blocks would take about 610.4 GiB"),
        (["--block-customers", "0"], "its plan, built in this process, would take about"),
        (["--executor", "in-process"], "its plan, built in this process, would take about"),
    ],
)
def test_a_world_too_big_for_this_machine_is_refused_up_front(
    tmp_path, capsys, monkeypatch, flags, held
):
    """A few zeros too many used to plan for hours and end out of memory."""
    monkeypatch.setattr(memory, "physical_memory", lambda: 24 * 2**30)
    for planner in ("_plan_blocked", "_plan_while_starting"):  # without the check: fail, fast
        monkeypatch.setattr(driver, planner, lambda *_: pytest.fail("planning began"))
    text = QUICK_CONFIG.read_text().replace("num_customers: 2000 ", "num_customers: 10**12 ")
    config = tmp_path / "huge.yaml"
    config.write_text(text.replace("10**12", str(10**12)))
    target = tmp_path / "lake"
    assert run(["generate", "-c", str(config), "-t", str(target), *flags]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: lookup_config.customers.num_customers: 1,000,000,000,000 ")
    assert held in error and "more than this machine's 24.0 GiB" in error
    assert not target.exists()


def test_doctor_says_the_world_does_not_fit(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: 4 * 2**30)
    config = tmp_path / "huge.yaml"
    config.write_text(
        QUICK_CONFIG.read_text().replace("num_customers: 2000 ", "num_customers: 10000000000 ")
    )
    assert run(["doctor", "-c", str(config), "-t", str(tmp_path / "lake")]) == 2
    line = next(x for x in capsys.readouterr().out.splitlines() if "plan" in x)
    assert line.startswith("  FAIL  plan    lookup_config.customers.num_customers: 10,000,000,000 ")


def test_the_one_piece_plan_refuses_a_world_too_big(tmp_path, monkeypatch):
    """What stats, run-generator, the library, verify and --repair plan with."""
    from ecomlake.errors import ConfigError

    monkeypatch.setattr(memory, "physical_memory", lambda: 100_000)  # under 2,000 × 350 bytes
    with pytest.raises(ConfigError, match=r"^lookup_config.customers.num_customers: 2,000 "):
        load_or_build_world(load_config(QUICK_CONFIG), 42, 0, 10, None)


def test_a_catalog_too_big_for_this_machine_is_refused_up_front(tmp_path, capsys):
    """Every process holds the whole catalog: a few zeros too many were a numpy traceback
    (exit 1) after the target folder had been made."""
    config = tmp_path / "products.yaml"
    config.write_text(
        QUICK_CONFIG.read_text().replace("num_products: 200", "num_products: 10000000000000")
    )
    target = tmp_path / "lake"
    assert run(["generate", "-c", str(config), "-t", str(target), "--days", "1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(
        "error: lookup_config.product_catalog.num_products: 10,000,000,000,000 products: "
    )
    assert not target.exists()
    with pytest.raises(ConfigError, match=r"^lookup_config.product_catalog.num_products: "):
        load_or_build_world(load_config(config), 42, 0, 10, None)
