"""`python -m bench.big`: some days of a world too big to plan in one piece, from the shell.

The world is gen_config/template.yaml (one pinned year) with `--customers` customers, every one
a shopper, planned in customer blocks. It runs `ecomlake generate` as a user would and samples,
every second, the private memory (RssAnon: Ray's shared object store is not counted twice) of
the driver and of each Ray worker. Prints one JSON object:

    python -m bench.big --customers 100000000 --start 2025-06-02 --days 7
    python -m bench.big --customers 10000000   # the whole year
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from bench.machine import file_create_ms, host_probe_ms
from bench.workload import REPO

TEMPLATE = REPO / "gen_config" / "template.yaml"


def big_config(customers: int, folder: Path) -> Path:
    """template.yaml with `customers` customers who all shop, written into `folder`."""
    data = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    data["lookup_config"]["customers"]["num_customers"] = customers
    for table in data["tables"]:
        if table["name"] == "shopping_carts":
            table["generate"] = customers
    path = folder / f"template-{customers}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _anon_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _ray_workers() -> list[int]:
    """Pids of Ray's worker processes (their command line starts with `ray::`)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _sample(driver: int, peaks: dict, done: threading.Event) -> None:
    """Peak private memory of the driver and of the largest Ray worker, in kB."""
    while not done.wait(1.0):
        peaks["driver"] = max(peaks["driver"], _anon_kb(driver))
        for pid in _ray_workers():
            peaks["worker"] = max(peaks["worker"], _anon_kb(pid))


def run(args: argparse.Namespace) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="big-", dir=args.temp))
    try:
        config = big_config(args.customers, folder)
        target = folder / "lake"
        command = [
            sys.executable, "-m", "ecomlake", "generate", "-c", str(config),
            "--target", str(target), "--workers", str(args.workers), "--no-progress",
            "--batch-id", "big", "--ingestion-ts", "2026-01-01T00:00:00+00:00",
        ]  # fmt: skip
        if args.start:
            command += ["--start-date", args.start]
        if args.days:
            command += ["--days", str(args.days)]
        if args.block_customers is not None:
            command += ["--block-customers", str(args.block_customers)]
        env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}
        peaks = {"driver": 0, "worker": 0}
        done = threading.Event()
        conditions = {"host_probe_ms": host_probe_ms(), "file_create_ms": file_create_ms(folder)}
        t0 = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        sampler = threading.Thread(target=_sample, args=(process.pid, peaks, done))
        sampler.start()
        try:
            output, _ = process.communicate(timeout=args.timeout)
        finally:
            done.set()
            sampler.join()
        wall = time.perf_counter() - t0
        text = output.decode(errors="replace")
        if process.returncode != 0:
            raise SystemExit(f"generate failed ({process.returncode}):\n{text[-2000:]}")
        record = json.loads(next((target / "_runs").glob("*.json")).read_text(encoding="utf-8"))
        files = list(target.rglob("*.parquet"))
        return {
            "customers": args.customers,
            "start": args.start,
            "days": len(record["days"]),
            "workers": args.workers,
            "rows": sum(record["rows"].values()),
            "rows_by_table": record["rows"],
            "parquet_mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
            "wall_seconds": round(wall, 1),
            "plan_seconds": record["plan_seconds"],
            "driver_peak_mb": round(peaks["driver"] / 1024),
            "worker_peak_mb": round(peaks["worker"] / 1024),
            **conditions,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--start", help="first day (default: the world's first)")
    parser.add_argument("--days", type=int, help="days from --start (default: the whole year)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--block-customers", type=int, help="passed on to generate")
    parser.add_argument("--temp", default=None, help="where the lake is written, then removed")
    parser.add_argument("--timeout", type=float, default=3600.0)
    print(json.dumps(run(parser.parse_args(argv)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
