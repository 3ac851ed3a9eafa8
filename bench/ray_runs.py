"""End-to-end `generate` runs on a local Ray instance, with the CPU and peak memory they cost.

The suite starts Ray itself (so start-up is timed on its own and the executor reuses the
instance), then reads CPU and VmHWM of the driver, the Ray daemons and every worker from /proc.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ray

from bench.machine import (
    cpu_delta,
    machine_cpu,
    machine_share,
    peak_rss_mb,
    reset_worker_peaks,
    tree_cpu,
    worker_peaks_mb,
    worker_rss_now_mb,
)
from bench.workload import Workload
from ecomlake.api import generate
from ecomlake.plan.world import WorldPlan

_FETCH_REPEATS = 3


def start_ray(cpus: int, temp_root: str) -> float:
    """Start a local Ray with `cpus` CPUs; returns the seconds `ray.init` took."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    t0 = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=cpus,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=tempfile.mkdtemp(prefix="r-", dir=temp_root),
    )
    return time.perf_counter() - t0


def stop_ray() -> float:
    """Shut Ray down; returns the seconds it took."""
    t0 = time.perf_counter()
    ray.shutdown()
    return time.perf_counter() - t0


@ray.remote(num_cpus=1)
def _days_in(world: WorldPlan) -> int:
    return world.end_day - world.start_day + 1


@ray.remote(num_cpus=1)
def _noop(value: int) -> int:
    return value


def _round_trip(fn, arg) -> float:
    t0 = time.perf_counter()
    ray.get(fn.remote(arg))
    return time.perf_counter() - t0


def measure_broadcast(world: WorldPlan) -> dict[str, float]:
    """Plan broadcast: `ray.put` of the world, then what a task pays to receive it.

    The first fetch includes importing ecomlake in a fresh worker; later fetches are what every
    day task pays again (the plan is deserialised per task, numpy arrays zero-copy).
    """
    for _ in range(2):
        _round_trip(_noop, 0)  # workers up before anything is timed
    t0 = time.perf_counter()
    ref = ray.put(world)
    put_s = time.perf_counter() - t0
    first = _round_trip(_days_in, ref) - _round_trip(_noop, 0)
    again = [_round_trip(_days_in, ref) - _round_trip(_noop, 0) for _ in range(_FETCH_REPEATS)]
    del ref
    return {
        "put_seconds": round(put_s, 4),
        "first_fetch_seconds": round(max(first, 0.0), 4),
        "fetch_per_task_seconds": round(max(statistics.median(again), 0.0), 4),
        "broadcast_seconds": round(put_s + max(first, 0.0), 4),
    }


def own_ray_run(work: Workload, days: int, workers: int, temp_root: str) -> dict:
    """One `generate` with no Ray running, as from the shell: it starts (and stops) its own local
    Ray and renders days in-process meanwhile. Only wall time is kept: the Ray processes exit
    inside the run, so their CPU cannot be read afterwards."""
    if ray.is_initialized():
        raise RuntimeError("own_ray_run needs Ray stopped")
    target = tempfile.mkdtemp(prefix="lake-", dir=temp_root)  # kept: see `end_to_end`
    t0 = time.perf_counter()
    result = generate(work.config, work.options(target, days, workers))
    wall = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(f"bench run of {days} days failed: {result.failures[0]}")
    return {
        "days": days,
        "workers": workers,
        "wall_seconds": round(wall, 3),
        "plan_seconds": round(result.plan_seconds, 3),
        "days_rendered_while_ray_started": sum(r.node_id == "local" for r in result.results),
        "total_rows": result.total_rows,
    }


def end_to_end(
    work: Workload,
    days: int,
    workers: int,
    temp_root: str,
    start: dt.date | None = None,
    plan_cache: bool = True,
    on_lake: Callable[[Path], dict] | None = None,
) -> dict:
    """One `generate` run over `days` days on the running Ray: throughput, CPU, memory.

    `on_lake` measures the written lake after the run's figures are taken; what it returns is
    kept under `lake`. The lake stays until the suite removes `temp_root` at its end: on ext4
    without a journal (this box's disk), every file created in the minutes after a mass delete
    pays for a scan past the deleted inodes, so deleting a lake here would charge the next
    measured run for it (docs/performance.md, "Deleting files slows creating them")."""
    target = tempfile.mkdtemp(prefix="lake-", dir=temp_root)
    reset_worker_peaks()
    before, machine_before = tree_cpu(), machine_cpu()
    t0 = time.perf_counter()
    result = generate(work.config, work.options(target, days, workers, start, plan_cache))
    wall = time.perf_counter() - t0
    cpu = cpu_delta(before, tree_cpu())
    machine = machine_share(machine_before, machine_cpu(), sum(cpu.values()))
    driver_peak, worker_peaks = peak_rss_mb(), worker_peaks_mb()
    worker_rss = worker_rss_now_mb()
    lake_bytes = sum(p.stat().st_size for p in Path(target).rglob("*.parquet"))
    lake = on_lake(Path(target)) if on_lake and result.ok else None
    if not result.ok:
        raise RuntimeError(f"bench run of {days} days failed: {result.failures[0]}")
    rows = result.total_rows
    task_s = sum(r.render_seconds + r.write_seconds for r in result.results)
    longest = max(result.results, key=lambda r: r.render_seconds + r.write_seconds)
    dispatch_s = result.total_seconds - result.plan_seconds
    cpu_total = sum(cpu.values())
    return {
        "start": (start or work.start).isoformat(),
        "days": days,
        "workers": workers,
        "wall_seconds": round(wall, 3),
        "plan_seconds": round(result.plan_seconds, 3),
        "plan_cached": result.plan_cached,
        "dispatch_seconds": round(dispatch_s, 3),
        "task_seconds": round(task_s, 3),
        "task_render_seconds": round(sum(r.render_seconds for r in result.results), 3),
        "task_write_seconds": round(sum(r.write_seconds for r in result.results), 3),
        "ray_overhead_seconds": round(dispatch_s - task_s / workers, 3),
        "longest_task": {
            "day": longest.day,
            "seconds": round(longest.render_seconds + longest.write_seconds, 3),
            "rows": longest.total_rows,
            "partitions": longest.partitions,
        },
        "rows": result.rows_by_table(),
        "total_rows": rows,
        "rows_per_second": round(rows / wall),
        "rows_per_second_per_core": round(rows / wall / workers),
        "rows_per_second_per_core_excl_plan": round(rows / dispatch_s / workers),
        "cpu_seconds": {**cpu, "total": round(cpu_total, 3)},
        "rows_per_cpu_second": round(rows / max(cpu_total, 1e-9)),
        "machine": machine,
        "days_per_second": round(days / wall, 3),
        "dispatch_days_per_second": round(days / dispatch_s, 3),
        "lake_bytes": lake_bytes,
        "driver_peak_mb": round(driver_peak, 1),
        "worker_peak_mb": worker_peaks,
        "worker_rss_at_end_mb": worker_rss,
        **({"lake": lake} if lake is not None else {}),
    }
