"""The suite: every measurement in one run, a printed table and a JSON file.

Usage: python -m bench [--smoke] [--config gen_config/backlog.yaml] [--start 2023-06-01]
       [--days 30] [--scaled-days 365] [--growth 10,30,90] [--workers 2] [--tpch-scale 1]
       [--full-backlog] [--name latest | --out path.json]
       python -m bench --verify [--lakes DIR] [--verify-code CHECKOUT] (verify's memory and time)
       python -m bench --format iceberg|delta [--days 30] (a table format against Parquet)
       python -m bench --scale [--workers 2] [--compression zstd]
           (1M customers for a year next to tpchgen-cli, both with that codec)

Order matters for memory figures: the Ray runs come first (smallest window first, each with a
fresh peak-memory window), then the in-process pipeline and the write floor, then tpchgen-cli.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from bench import report as rep
from bench.formats import format_section, print_formats
from bench.machine import machine_cpu, machine_info, machine_share, peak_rss_mb, reset_peak_rss
from bench.pipeline import plan_world, run_pipeline, write_floor
from bench.ray_runs import end_to_end, measure_broadcast, own_ray_run, start_ray, stop_ray
from bench.scale import print_scale, scale_section, scale_workload
from bench.targets import judge_targets, print_table
from bench.tpch import run_tpchgen
from bench.verify_runs import print_verify, verify_section
from bench.workload import BACKLOG, REPO, Workload, load_workload
from ecomlake.lake import COMPRESSIONS
from ecomlake.plan.cache import CACHE_ENV


@dataclass(frozen=True)
class Sizes:
    """Window lengths, worker count and TPC-H scale of one suite run."""

    days: int
    scaled_days: int
    growth: tuple[int, ...]
    workers: int
    tpch_scale: float

    @property
    def all_windows(self) -> list[int]:
        return sorted({*self.growth, self.days, self.scaled_days})


SMOKE = Sizes(days=2, scaled_days=4, growth=(2, 4), workers=2, tpch_scale=0.001)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, for CI")
    parser.add_argument("--config", type=Path, default=BACKLOG)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2023, 6, 1))
    parser.add_argument("--days", type=int, default=30, help="the fixed window")
    parser.add_argument("--scaled-days", type=int, default=365, help="the scaled (one-year) window")
    parser.add_argument("--growth", default="10,30,90", help="windows for days-per-second")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tpch-scale", type=float, default=1.0)
    parser.add_argument("--full-backlog", action="store_true", help="also time the whole window")
    parser.add_argument(
        "--verify", action="store_true", help="only `ecomlake verify` on the scaled and whole lakes"
    )
    parser.add_argument(
        "--format", choices=("iceberg", "delta"), help="only: this table format vs Parquet"
    )
    parser.add_argument(
        "--scale", action="store_true", help="only: the million-customer year and tpchgen-cli"
    )
    parser.add_argument(
        "--compression",
        choices=COMPRESSIONS,
        help="--scale: the codec of both generators (default: generate's, zstd)",
    )
    parser.add_argument("--lakes", type=Path, help="--verify: keep (and reuse) the lakes here")
    parser.add_argument(
        "--verify-code", type=Path, default=REPO, help="--verify: the checkout whose verify runs"
    )
    parser.add_argument("--name", default="latest", help="writes bench/results/<name>.json")
    parser.add_argument("--out", type=Path, help="JSON path (overrides --name)")
    return parser.parse_args(argv)


def _sizes(args: argparse.Namespace) -> Sizes:
    if args.smoke:
        return Sizes(SMOKE.days, SMOKE.scaled_days, SMOKE.growth, args.workers, SMOKE.tpch_scale)
    growth = tuple(int(d) for d in args.growth.split(",") if d.strip())
    if min((args.days, args.scaled_days, *growth)) < 1 or args.workers < 1:
        raise SystemExit("--days, --scaled-days, --growth and --workers must be at least 1")
    return Sizes(args.days, args.scaled_days, growth, args.workers, args.tpch_scale)


def _ray_phase(work: Workload, sizes: Sizes, temp_root: str, full_backlog: bool) -> dict:
    """Ray with N CPUs: start-up, plan broadcast, then every window as a real `generate`."""
    start_s = start_ray(sizes.workers, temp_root)
    try:
        world, _, _ = plan_world(work, sizes.days)  # also fills the plan cache
        broadcast = measure_broadcast(world)
        del world
        gc.collect()
        fresh = end_to_end(work, sizes.days, sizes.workers, temp_root, plan_cache=False)
        runs = {d: end_to_end(work, d, sizes.workers, temp_root) for d in sizes.all_windows}
        full = None
        if full_backlog:
            first, length = work.world_days()
            full = end_to_end(work, length, sizes.workers, temp_root, start=first)
    finally:
        stop_s = stop_ray()
    return {
        "ray_start_seconds": start_s,
        "ray_shutdown_seconds": stop_s,
        "broadcast": broadcast,
        "fixed_fresh_plan": fresh,
        "runs": runs,
        "full_backlog": full,
    }


def _single_worker_runs(work: Workload, sizes: Sizes, temp_root: str) -> list[dict]:
    """The fixed and scaled windows again on a one-CPU Ray: parallel efficiency's denominator."""
    start_ray(1, temp_root)
    try:
        return [end_to_end(work, d, 1, temp_root) for d in sorted({sizes.days, sizes.scaled_days})]
    finally:
        stop_ray()


def _pipeline_phase(work: Workload, sizes: Sizes, temp_root: str) -> tuple:
    """In-process day pipeline with stage timers, then pyarrow alone on the same tables."""
    reset_peak_rss()
    machine_before, cpu_before = machine_cpu(), time.process_time()
    pipe = run_pipeline(work, sizes.days, tempfile.mkdtemp(prefix="pipe-", dir=temp_root))
    flat = write_floor(pipe.chunks, work, tempfile.mkdtemp(prefix="flat-", dir=temp_root), True)
    floor = write_floor(pipe.chunks, work, tempfile.mkdtemp(prefix="floor-", dir=temp_root))
    floor["flat_folder"] = flat
    steady = pipe.chunks[pipe.first_task_chunks :]
    floor["steady_days"] = write_floor(steady, work, tempfile.mkdtemp(prefix="fl-", dir=temp_root))
    floor["machine"] = machine_share(
        machine_before, machine_cpu(), time.process_time() - cpu_before
    )
    peak = peak_rss_mb()
    pipe.chunks.clear()
    gc.collect()
    pa.default_memory_pool().release_unused()
    return pipe, floor, peak


def run_suite(work: Workload, sizes: Sizes, temp_root: str, full_backlog: bool) -> dict:
    """Every measurement, then the derived sections and the targets."""
    t0 = time.perf_counter()
    machine = machine_info()
    ray_phase = _ray_phase(work, sizes, temp_root, full_backlog)
    single = _single_worker_runs(work, sizes, temp_root)
    own_ray = own_ray_run(work, sizes.scaled_days, sizes.workers, temp_root)  # Ray is down here
    pipe, floor, pipeline_peak = _pipeline_phase(work, sizes, temp_root)
    tpch = run_tpchgen(sizes.tpch_scale, sizes.workers, temp_root, compression=None)
    runs = ray_phase["runs"]
    fixed = runs[sizes.days]
    report = {
        "meta": {
            "smoke": work.smoke,
            "config": str(work.config_path.relative_to(REPO))
            if work.config_path.is_relative_to(REPO)
            else str(work.config_path),
            "start": work.start.isoformat(),
            "sizes": {**sizes.__dict__, "growth": list(sizes.growth)},
            "machine": machine,
        },
        "end_to_end": {
            "fixed": fixed,
            "fixed_fresh_plan": ray_phase["fixed_fresh_plan"],
            "scaled": runs[sizes.scaled_days],
        },
        "per_table": rep.per_table(pipe),
        "write_floor": rep.write_floor_section(floor, pipe, fixed, ray_phase["fixed_fresh_plan"]),
        "time_split": rep.time_split(pipe, ray_phase, fixed, own_ray, runs[sizes.scaled_days]),
        "scaling": rep.scaling_section(runs, single, ray_phase["full_backlog"]),
        "memory": rep.memory_section(runs, pipeline_peak),
        "tpch": rep.tpch_section(tpch, fixed),
    }
    if ray_phase["full_backlog"]:
        report["end_to_end"]["full_backlog"] = ray_phase["full_backlog"]
    report["targets"] = judge_targets(report)
    report["meta"]["load_average_at_end"] = list(os.getloadavg())
    report["meta"]["suite_seconds"] = round(time.perf_counter() - t0, 1)
    return report


def main(argv: list[str] | None = None) -> None:
    """Run the suite, print the table and write the JSON."""
    args = parse_args(argv)
    if args.compression and not args.scale:
        raise SystemExit("--compression: only with --scale")
    sizes = _sizes(args)
    work = load_workload(args.config.resolve(), args.start, args.smoke)
    out = args.out or REPO / "bench" / "results" / f"{args.name}.json"
    temp_root = tempfile.mkdtemp(prefix="ebench-")
    os.environ[CACHE_ENV] = os.path.join(temp_root, "plans")  # each bench starts with no plan
    try:
        if args.scale:
            codec = args.compression or work.compression
            work, machine = scale_workload(args.smoke, codec), machine_info()  # before the run
            section = scale_section(work, sizes.workers, sizes.tpch_scale, temp_root)
            section["host_probe_ms"] = machine["host_probe_ms"]  # printed beside the runs
            report = {"meta": {"smoke": work.smoke, "machine": machine}, "scale": section}
            report["meta"]["load_average_at_end"] = list(os.getloadavg())
        elif args.format:
            section = format_section(work, args.format, sizes.days, sizes.workers, temp_root)
            report = {"meta": {"smoke": work.smoke, "machine": machine_info()}, "formats": section}
        elif args.verify:
            lakes = args.lakes or Path(temp_root) / "lakes"
            code = args.verify_code.resolve()
            section = verify_section(work, sizes.scaled_days, sizes.workers, lakes, code)
            report = {"meta": {"smoke": work.smoke, "machine": machine_info()}, "verify": section}
        else:
            report = run_suite(work, sizes, temp_root, args.full_backlog)
    finally:
        shutil.rmtree(temp_root, ignore_errors=True)
    if args.scale:
        print_scale(report["scale"])
    elif args.format:
        print_formats(report["formats"])
    elif args.verify:
        print_verify(report["verify"])
    else:
        print_table(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")
