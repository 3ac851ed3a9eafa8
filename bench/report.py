"""Turn raw measurements into the report's sections, the performance targets and a printed table.

Nothing here measures: every number is derived from what `bench.suite` timed in the same run.
"""

from __future__ import annotations

import numpy as np

from bench.pipeline import STAGES, PipelineResult
from bench.workload import MESSINESS_LEVEL

CPU_VS_FLOOR_MAX = 2.0
ROWS_PER_CORE_MIN = 1_000_000
PARALLEL_EFFICIENCY_MIN = 0.90
FULL_BACKLOG_MAX_SECONDS = 600.0
RAY_SHARE_OF_YEAR_MAX = 0.15


def per_table(pipe: PipelineResult) -> dict[str, dict]:
    """Rows per CPU second of each table through the in-process pipeline (all stages)."""
    out = {}
    for table, rows in pipe.rows.items():
        cpu = pipe.clock.table_cpu.get(table, 0.0)
        out[table] = {
            "rows": rows,
            "cpu_seconds": round(cpu, 3),
            "render_cpu_seconds": round(pipe.clock.render_cpu.get(table, 0.0), 3),
            "rows_per_cpu_second": round(rows / cpu) if cpu > 0 else None,
        }
    return out


def time_split(
    pipe: PipelineResult, ray_phase: dict, fixed: dict, own_ray: dict, scaled: dict
) -> dict:
    """Where a window's seconds go: plan, each day stage (CPU, in-process) and Ray's share.

    Ray's start-up is timed alone (`ray_start_seconds`) and as what it adds to a run that starts
    its own Ray (the driver renders days while it waits): that run's wall minus the same run's
    on a running Ray."""
    stages = {name: round(pipe.clock.cpu.get(name, 0.0), 3) for name in STAGES}
    day_total = sum(stages.values())
    return {
        "plan_cpu_seconds": round(pipe.plan.cpu, 3),
        "plan_wall_seconds": round(pipe.plan.wall, 3),
        "plan_cache": {
            "store_wall_seconds": round(pipe.plan.store_wall, 3),
            "load_cpu_seconds": round(pipe.plan.load_cpu, 3),
            "load_wall_seconds": round(pipe.plan.load_wall, 3),
        },
        "stage_cpu_seconds": stages,
        "stage_share": {k: round(v / day_total, 3) for k, v in stages.items()},
        "messiness_level": MESSINESS_LEVEL,
        "render_cpu_seconds_by_table": {
            k: round(v, 3) for k, v in sorted(pipe.clock.render_cpu.items())
        },
        "day_pipeline_cpu_seconds": round(day_total, 3),
        "steady_days": _steady(pipe),
        "ray_start_seconds": round(ray_phase["ray_start_seconds"], 3),
        "ray_shutdown_seconds": round(ray_phase["ray_shutdown_seconds"], 3),
        "own_ray_run": own_ray,
        "ray_start_added_seconds": round(own_ray["wall_seconds"] - scaled["wall_seconds"], 3),
        "broadcast": ray_phase["broadcast"],
        "ray_overhead_seconds": fixed["ray_overhead_seconds"],
        "ray_daemons_cpu_seconds": fixed["cpu_seconds"]["ray_daemons"],
    }


def _steady(pipe: PipelineResult) -> dict:
    """A typical day (every day but the first): CPU per stage per day, rows and files per day."""
    days = max(pipe.steady_days, 1)
    cpu = sum(pipe.clock.steady_cpu.values())
    return {
        "days": pipe.steady_days,
        "rows_per_day": round(pipe.steady_rows / days),
        "files_per_day": round(pipe.steady_files / days, 1),
        "cpu_seconds_per_day": {
            k: round(pipe.clock.steady_cpu.get(k, 0.0) / days, 4) for k in STAGES
        },
        "rows_per_cpu_second": round(pipe.steady_rows / cpu) if cpu > 0 else None,
    }


def write_floor_section(floor: dict, pipe: PipelineResult, fixed: dict, fresh: dict) -> dict:
    """The floor, and our CPU as a multiple of it: whole run with the plan from the cache (as
    every run after a config's first) and planned afresh; without the plan; day stages only."""
    e2e_cpu, fresh_cpu = fixed["cpu_seconds"]["total"], fresh["cpu_seconds"]["total"]
    day_cpu = sum(pipe.clock.cpu.get(name, 0.0) for name in STAGES)
    return {
        **floor,
        "end_to_end_cpu_seconds": e2e_cpu,
        "end_to_end_cpu_seconds_fresh_plan": fresh_cpu,
        "ratio": round(e2e_cpu / floor["cpu_seconds"], 2),
        "ratio_fresh_plan": round(fresh_cpu / floor["cpu_seconds"], 2),
        "ratio_excl_plan": round((e2e_cpu - pipe.plan.load_cpu) / floor["cpu_seconds"], 2),
        "ratio_flat_folder": round(e2e_cpu / floor["flat_folder"]["cpu_seconds"], 2),
        "day_pipeline_ratio": round(day_cpu / floor["cpu_seconds"], 2),
        "steady_days_ratio": round(
            sum(pipe.clock.steady_cpu.values()) / max(floor["steady_days"]["cpu_seconds"], 1e-9), 2
        ),
        "rows_match_run": pipe.rows == fixed["rows"],
        "bytes_match_run": pipe.bytes_written == fixed["lake_bytes"],
    }


def scaling_section(runs: dict[int, dict], single: list[dict], full: dict | None) -> dict:
    """Parallel efficiency (1 vs N workers, per window) and the cost of a window as it grows."""
    efficiency = []
    for one in single:
        multi = runs[one["days"]]
        n = multi["workers"]
        efficiency.append(
            {
                "days": one["days"],
                "one_worker": _brief(one),
                "n_workers": _brief(multi),
                "parallel_efficiency": round(
                    multi["rows_per_second"] / (n * one["rows_per_second"]), 3
                ),
                "parallel_efficiency_excl_plan": round(
                    one["dispatch_seconds"] / (n * multi["dispatch_seconds"]), 3
                ),
            }
        )
    windows = [runs[d] for d in sorted(runs)] + ([full] if full else [])
    return {"efficiency": efficiency, **_growth(windows)}


def _growth(windows: list[dict]) -> dict:
    """Days per second per window and a straight-line fit of dispatch seconds on days."""
    days = np.array([r["days"] for r in windows], dtype=float)
    dispatch = np.array([r["dispatch_seconds"] for r in windows])
    per_day, fixed_cost = np.polyfit(days, dispatch, 1) if len(days) > 1 else (0.0, 0.0)
    fitted = fixed_cost + per_day * days
    return {
        "windows": [
            {
                "days": r["days"],
                "wall_seconds": r["wall_seconds"],
                "dispatch_seconds": r["dispatch_seconds"],
                "days_per_second": r["days_per_second"],
                "dispatch_days_per_second": r["dispatch_days_per_second"],
                "total_rows": r["total_rows"],
                "longest_task_seconds": r["longest_task"]["seconds"],
            }
            for r in windows
        ],
        "linear_fit": {
            "fixed_seconds": round(float(fixed_cost), 3),
            "seconds_per_day": round(float(per_day), 4),
            "max_relative_residual": round(float(np.max(np.abs(dispatch - fitted) / dispatch)), 3),
        },
    }


def _brief(run: dict) -> dict:
    keys = ("days", "workers", "wall_seconds", "dispatch_seconds", "total_rows", "rows_per_second")
    return {
        **{k: run[k] for k in keys},
        "cpu_seconds": run["cpu_seconds"]["total"],
        "other_processes_cpu_seconds": run["machine"]["other_processes_cpu_seconds"],
    }


def memory_section(runs: dict[int, dict], pipeline_peak_mb: float) -> dict:
    """Peak RSS of the driver and of each Ray worker, per window (each run its own window)."""
    return {
        "runs": [
            {
                "days": r["days"],
                "driver_peak_mb": r["driver_peak_mb"],
                "worker_peak_mb": r["worker_peak_mb"],
                "max_worker_peak_mb": max(r["worker_peak_mb"], default=0.0),
            }
            for r in (runs[d] for d in sorted(runs))
        ],
        "in_process_driver_peak_mb": round(pipeline_peak_mb, 1),
    }


def tpch_section(tpch: dict, fixed: dict) -> dict:
    """tpchgen-cli next to our fixed window, per core (same thread count as our workers)."""
    if not tpch.get("available"):
        return tpch
    ours = fixed["rows_per_second_per_core"]
    ours_cpu = fixed["rows_per_cpu_second"]
    return {
        **tpch,
        "ours_rows_per_second_per_core": ours,
        "ours_over_tpchgen": round(ours / tpch["rows_per_second_per_core"], 4),
        "ours_rows_per_cpu_second": ours_cpu,
        "ours_over_tpchgen_by_cpu": round(ours_cpu / tpch["rows_per_cpu_second"], 4),
    }
