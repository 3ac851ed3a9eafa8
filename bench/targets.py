"""The performance targets, judged from the report's figures, and the printed summary table."""

from __future__ import annotations

from bench.report import (
    CPU_VS_FLOOR_MAX,
    FULL_BACKLOG_MAX_SECONDS,
    PARALLEL_EFFICIENCY_MIN,
    RAY_SHARE_OF_YEAR_MAX,
    ROWS_PER_CORE_MIN,
)


def judge_targets(report: dict) -> list[dict]:
    """One entry per target: the bound, the measured value and whether it is met."""
    e2e, split = report["end_to_end"], report["time_split"]
    scaled = e2e["scaled"]
    widest, narrowest = report["scaling"]["efficiency"][-1], report["scaling"]["efficiency"][0]
    alone = split["ray_start_seconds"] + split["broadcast"]["broadcast_seconds"]
    alone_share = alone / (split["ray_start_seconds"] + scaled["wall_seconds"])
    own = split["own_ray_run"]
    ray_share = max(split["ray_start_added_seconds"], 0.0) / own["wall_seconds"]
    targets = [
        _target(
            "cpu_vs_write_floor",
            "<=",
            CPU_VS_FLOOR_MAX,
            report["write_floor"]["ratio"],
            "plan loaded from the plan cache, as on every run after a config's first; floor "
            "written at the lake's paths (against one flat folder: "
            f"{report['write_floor']['ratio_flat_folder']})",
        ),
        _target(
            "cpu_vs_write_floor_fresh_plan",
            "<=",
            CPU_VS_FLOOR_MAX,
            report["write_floor"]["ratio_fresh_plan"],
            "the first run of a config: the whole world planned on the driver",
        ),
        _target(
            "rows_per_second_per_core",
            ">=",
            ROWS_PER_CORE_MIN,
            scaled["rows_per_second_per_core"],
            f"{scaled['days']}-day window; {e2e['fixed']['days']}-day window: "
            f"{e2e['fixed']['rows_per_second_per_core']}",
        ),
        _target(
            "parallel_efficiency",
            ">=",
            PARALLEL_EFFICIENCY_MIN,
            widest["parallel_efficiency"],
            f"{widest['days']}-day window (without plan "
            f"{widest['parallel_efficiency_excl_plan']}); {narrowest['days']}-day window: "
            f"{narrowest['parallel_efficiency']}",
        ),
        _target(
            "ray_start_and_broadcast_share_of_year",
            "<",
            RAY_SHARE_OF_YEAR_MAX,
            round(ray_share, 4),
            f"what start-up adds to a {scaled['days']}-day run that starts its own Ray "
            f"({own['wall_seconds']} s, {own['days_rendered_while_ray_started']} days rendered "
            f"meanwhile); start-up + broadcast alone: {alone:.2f} s = {alone_share:.1%}",
        ),
    ]
    full = e2e.get("full_backlog")
    if full:
        targets.append(
            _target(
                "full_backlog_seconds",
                "<",
                FULL_BACKLOG_MAX_SECONDS,
                full["wall_seconds"],
                f"{full['total_rows']} rows",
            )
        )
    else:
        targets.append(
            {
                "name": "full_backlog_seconds",
                "bound": f"< {FULL_BACKLOG_MAX_SECONDS}",
                "measured": None,
                "met": None,
                "note": "not measured in this run (python -m bench --full-backlog)",
            }
        )
    return targets


def _target(name: str, op: str, bound: float, value: float, note: str = "") -> dict:
    met = value <= bound if op == "<=" else value >= bound if op == ">=" else value < bound
    return {"name": name, "bound": f"{op} {bound}", "measured": value, "met": met, "note": note}


def summary_rows(report: dict) -> list[tuple[str, str]]:
    """(figure, value) lines of the printed table."""
    return [
        *_throughput_rows(report),
        *_cost_rows(report),
        *_scaling_rows(report),
        *_tpch_rows(report["tpch"]),
        *(
            (f"target {t['name']}", f"{t['measured']} ({t['bound']}): {_verdict(t['met'])}")
            for t in report["targets"]
        ),
    ]


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "NOT met")


def _throughput_rows(report: dict) -> list[tuple[str, str]]:
    rows = []
    for label in ("fixed_fresh_plan", "fixed", "scaled", "full_backlog"):
        run = report["end_to_end"].get(label)
        if run:
            busy, iowait = run["machine"]["busy_share"], run["machine"]["iowait_share"]
            rows.append(
                (
                    f"e2e {run['days']} d, {run['workers']} workers",
                    f"{run['total_rows']:,} rows in {run['wall_seconds']} s = "
                    f"{run['rows_per_second_per_core']:,} rows/s/core (plan {run['plan_seconds']}"
                    f" s{' from cache' if run['plan_cached'] else ''}, "
                    f"CPU {run['cpu_seconds']['total']} s, machine busy "
                    f"{busy:.0%}, iowait {iowait:.0%})",
                )
            )
    for table, fig in report["per_table"].items():
        rate = fig["rows_per_cpu_second"]
        rows.append((f"  {table}", f"{fig['rows']:,} rows, {rate or 0:,} rows/CPU-s (in-process)"))
    return rows


def _cost_rows(report: dict) -> list[tuple[str, str]]:
    floor, split = report["write_floor"], report["time_split"]
    steady = split["steady_days"]
    stages = ", ".join(f"{k} {v}" for k, v in split["stage_cpu_seconds"].items())
    per_day = ", ".join(f"{k} {v}" for k, v in steady["cpu_seconds_per_day"].items())
    broadcast = split["broadcast"]
    return [
        (
            "write floor (pyarrow)",
            f"{floor['cpu_seconds']} CPU-s = {floor['rows_per_cpu_second']:,} rows/CPU-s; "
            f"ours {floor['ratio']}x (plan afresh {floor['ratio_fresh_plan']}x, "
            f"w/o plan {floor['ratio_excl_plan']}x, "
            f"day stages {floor['day_pipeline_ratio']}x, typical days "
            f"{floor['steady_days_ratio']}x of {floor['steady_days']['rows_per_cpu_second']:,} "
            f"rows/CPU-s); a one-row file costs {floor['one_row_file_cpu_seconds'] * 1000:.2f} ms",
        ),
        (
            "  same files in one flat folder",
            f"{floor['flat_folder']['cpu_seconds']} CPU-s (no partition folders to make); "
            f"ours {floor['ratio_flat_folder']}x",
        ),
        (
            "split, CPU-s",
            f"plan {split['plan_cpu_seconds']} (from cache "
            f"{split['plan_cache']['load_cpu_seconds']}), {stages}",
        ),
        (
            "typical day, CPU-s",
            f"{per_day} ({steady['rows_per_day']:,} rows, {steady['files_per_day']} files)",
        ),
        (
            "Ray",
            f"start {split['ray_start_seconds']} s (adds {split['ray_start_added_seconds']} s to "
            f"a run that starts its own), broadcast {broadcast['broadcast_seconds']} s, "
            f"fetch/task {broadcast['fetch_per_task_seconds']} s, "
            f"overhead {split['ray_overhead_seconds']} s",
        ),
    ]


def _scaling_rows(report: dict) -> list[tuple[str, str]]:
    scaling = report["scaling"]
    fit = scaling["linear_fit"]
    windows = ", ".join(f"{w['days']} d {w['wall_seconds']} s" for w in scaling["windows"])
    memory = ", ".join(
        f"{m['days']} d: driver {m['driver_peak_mb']} / worker {m['max_worker_peak_mb']}"
        for m in report["memory"]["runs"]
    )
    efficiency = ", ".join(
        f"{e['days']} d {e['parallel_efficiency']} (w/o plan {e['parallel_efficiency_excl_plan']})"
        for e in scaling["efficiency"]
    )
    return [
        ("parallel efficiency", efficiency),
        (
            "days scaling",
            f"{windows}; fit {fit['fixed_seconds']} s + {fit['seconds_per_day']} s/day",
        ),
        ("peak RSS MiB", memory),
    ]


def _tpch_rows(tpch: dict) -> list[tuple[str, str]]:
    if not tpch.get("available"):
        return [("tpchgen-cli", f"skipped: {tpch['reason']}")]
    return [
        (
            f"tpchgen-cli -s {tpch['scale']:g} -n {tpch['threads']}",
            f"{tpch['rows']:,} rows in {tpch['wall_seconds']} s = "
            f"{tpch['rows_per_second_per_core']:,} rows/s/core; ours/theirs "
            f"{tpch['ours_over_tpchgen']} (per CPU-s: {tpch['ours_over_tpchgen_by_cpu']})",
        )
    ]


def print_table(report: dict) -> None:
    """The summary table on stdout."""
    rows = summary_rows(report)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
