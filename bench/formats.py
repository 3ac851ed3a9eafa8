"""`python -m bench --format iceberg|delta`: a backlog as Iceberg or Delta tables against the
same backlog as plain Parquet, on one local Ray, runs alternated so machine noise hits both."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time

from bench.ray_runs import start_ray, stop_ray
from bench.workload import Workload
from ecomlake.api import generate
from ecomlake.tables import TableOptions

REPEATS = 2
TARGET_RATIO = 1.3  # a table format may cost at most this much of Parquet's wall time


def _timed_run(work: Workload, fmt: str, days: int, workers: int, temp_root: str) -> dict:
    target = tempfile.mkdtemp(prefix=f"{fmt}-", dir=temp_root)
    options = dataclasses.replace(work.options(target, days, workers), tables=TableOptions(fmt))
    try:
        t0 = time.perf_counter()
        result = generate(work.config, options)
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(target, ignore_errors=True)
    if not result.ok:
        raise RuntimeError(f"{fmt} bench run failed: {result.failures[0]}")
    return {"wall_seconds": round(wall, 3), "rows": result.total_rows}


def format_section(work: Workload, fmt: str, days: int, workers: int, temp_root: str) -> dict:
    """Best-of-REPEATS wall time of `days` days in Parquet and in `fmt`, and their ratio (one
    run each in smoke mode, which only proves the section runs)."""
    start_ray(workers, temp_root)
    try:
        _timed_run(work, "parquet", 1, workers, temp_root)  # workers warm before timing
        walls: dict[str, list[float]] = {"parquet": [], fmt: []}
        for _ in range(1 if work.smoke else REPEATS):
            for name in walls:
                walls[name].append(_timed_run(work, name, days, workers, temp_root)["wall_seconds"])
    finally:
        stop_ray()
    best = {name: min(times) for name, times in walls.items()}
    ratio = best[fmt] / best["parquet"]
    return {
        "format": fmt,
        "days": days,
        "workers": workers,
        "wall_seconds": walls,
        "best_seconds": best,
        "ratio": round(ratio, 3),
        "within_target": ratio <= TARGET_RATIO,
    }


def print_formats(section: dict) -> None:
    fmt, best = section["format"], section["best_seconds"]
    print(
        f"{section['days']} days on {section['workers']} workers: parquet {best['parquet']:.1f} s, "
        f"{fmt} {best[fmt]:.1f} s, ratio {section['ratio']:.2f} "
        f"(target <= {TARGET_RATIO}: {'met' if section['within_target'] else 'MISSED'})"
    )
