"""End-to-end throughput of `generate` on a config over a fixed window.

Usage: python bench/run.py [--config gen_config/backlog.yaml] [--days 30] [--workers 2]
       [--executor ray|in-process] [--out bench/results/latest.json]

Prints plan seconds, wall seconds, rows per table and rows/s (total and per worker) and writes
the same figures as JSON. It measures the real command path: plan, Ray, render, Parquet, disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ecomlake.api import generate
from ecomlake.config import load_config
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "gen_config" / "backlog.yaml"))
    parser.add_argument("--start", default="2023-06-01", help="first day of the measured window")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--executor", default="ray", choices=["ray", "in-process"])
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "latest.json"))
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")

    cfg = load_config(args.config)
    start = dt.date.fromisoformat(args.start)
    target = Path(tempfile.mkdtemp(prefix="ecomlake-bench-"))
    try:
        t0 = time.perf_counter()
        result = generate(
            cfg,
            GenerateOptions(
                target=str(target),
                start_date=start,
                end_date=start + dt.timedelta(days=args.days - 1),
                workers=args.workers,
                executor=args.executor,
                batch_id="bench",
                ingestion_ts="2026-01-01T00:00:00+00:00",
            ),
        )
        wall = time.perf_counter() - t0
        lake_bytes = sum(p.stat().st_size for p in target.rglob("*.parquet"))
    finally:
        shutil.rmtree(target, ignore_errors=True)

    render_s = sum(r.render_seconds for r in result.results)
    write_s = sum(r.write_seconds for r in result.results)
    figures = {
        "config": Path(args.config).name,
        "days": args.days,
        "workers": args.workers,
        "executor": args.executor,
        "ok": result.ok,
        "plan_seconds": round(result.plan_seconds, 2),
        "wall_seconds": round(wall, 2),
        "task_render_seconds": round(render_s, 2),
        "task_write_seconds": round(write_s, 2),
        "rows": result.rows_by_table(),
        "total_rows": result.total_rows,
        "rows_per_second": round(result.total_rows / wall),
        "rows_per_second_per_worker": round(result.total_rows / wall / args.workers),
        "rows_per_task_cpu_second": round(result.total_rows / max(render_s + write_s, 1e-9)),
        "parquet_mb": round(lake_bytes / 2**20, 1),
    }
    for key, value in figures.items():
        print(f"{key:28} {value}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
