"""`python -m bench --verify`: peak memory and wall time of `ecomlake verify` on the bench's lakes.

The lakes are the scaled (one-year) window and the config's whole world (the six-year backlog),
both clean and verified as they are, and the first month at heavy_mess, verified with
`--against-defects` (undoing its defect log); written once with `generate` into `--lakes` and
reused by later runs (a lake whose run manifest is there is not written again). Each verify is
its own `python -m ecomlake verify` process, and its peak RSS is the kernel's figure for that
process (`getrusage`), Ray workers not included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import BATCH_ID, MESSINESS_LEVEL, Workload
from ecomlake.api import generate

_TIMEOUT_SECONDS = 3600
MESSY_DAYS = 30  # the heavy_mess lake: a month, as `--against-defects` was first measured on
MESSY_LEVEL = "heavy_mess"
_PEAK = "verify-peak-rss-kb"
# the verify command in a process of its own, which reports its own peak RSS on the way out
_PROBE = (
    "import resource, sys\n"
    "from ecomlake.cli.app import run\n"
    "code = run(sys.argv[1:])\n"
    f"print('{_PEAK}', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass(frozen=True)
class BenchLake:
    """A measured lake: its window, messiness level and the verify flags it is checked with."""

    first: dt.date
    days: int
    level: str = MESSINESS_LEVEL
    verify_args: tuple[str, ...] = ()


def lake_windows(work: Workload, scaled_days: int) -> dict[str, BenchLake]:
    """Name -> each measured lake: the scaled window, the whole world and the messy month."""
    messy = BenchLake(work.start, min(MESSY_DAYS, scaled_days), MESSY_LEVEL, ("--against-defects",))
    return {
        "scaled": BenchLake(work.start, scaled_days),
        "world": BenchLake(*work.world_days()),
        "messy": messy,
    }


def ensure_lake(work: Workload, folder: Path, lake: BenchLake, workers: int) -> Path:
    """`lake` under `folder`, written unless a run finished there."""
    level = "" if lake.level == MESSINESS_LEVEL else f"-{lake.level}"
    target = folder / f"{lake.first.isoformat()}-{lake.days}d{level}"
    if not (target / "_runs" / f"{BATCH_ID}.json").exists():
        options = work.options(str(target), lake.days, workers, start=lake.first)
        # not what is measured here: a small lake need not wait for a local Ray
        options = dataclasses.replace(options, executor="auto", messiness_level=lake.level)
        result = generate(work.config, options)
        if not result.ok:
            raise RuntimeError(f"bench lake {target} failed: {result.failures[0]}")
    return target


def measure_verify(lake: Path, code: Path, *extra: str) -> dict:
    """One `ecomlake verify <lake>` process of the checkout `code`: exit code, wall, peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(code), "RAY_AUTH_MODE": "disabled"}
    argv = [sys.executable, "-c", _PROBE, "verify", str(lake), "--format", "json", *extra]
    with tempfile.TemporaryDirectory(prefix="verify-cwd-") as cwd:  # not a checkout: PYTHONPATH
        t0 = time.perf_counter()
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS
        )
        wall = time.perf_counter() - t0
    marker = [line for line in done.stderr.splitlines() if line.startswith(_PEAK)]
    if not marker:
        raise RuntimeError(f"verify of {lake} died ({done.returncode}): {done.stderr[-2000:]}")
    return {
        "lake": str(lake),
        "args": list(extra),
        "exit_code": done.returncode,
        "ok": '"ok": true' in done.stdout,
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(int(marker[-1].split()[1]) / 1024, 1),
    }


def verify_section(work: Workload, scaled_days: int, workers: int, lakes: Path, code: Path) -> dict:
    """Each lake written (or found) under `lakes`, then verified once by the checkout `code`."""
    section = {"code": str(code), "lakes": {}}
    for name, lake in lake_windows(work, scaled_days).items():
        root = ensure_lake(work, lakes, lake, workers)
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        section["lakes"][name] = {
            "start": lake.first.isoformat(),
            "days": lake.days,
            "level": lake.level,
            "parquet_bytes": size,
            **measure_verify(root, code, *lake.verify_args),
        }
    return section


def print_verify(section: dict) -> None:
    """One line per lake: days, size, wall, peak RSS, verdict."""
    for name, run in section["lakes"].items():
        print(
            f"verify {name:<6} {' '.join(run['args']):<18} {run['days']:>5} days "
            f"{run['parquet_bytes'] / 1e6:8.1f} MB  "
            f"wall {run['wall_seconds']:8.1f} s  peak RSS {run['peak_rss_mb']:7.1f} MB  "
            f"exit {run['exit_code']}"
        )
