"""The same kind of work by a Rust generator: `tpchgen-cli parquet` with our worker count.

Rows are counted from the Parquet footers it wrote; CPU comes from `getrusage` of the child.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from bench.machine import machine_cpu, machine_share, tpchgen_version


def run_tpchgen(
    scale: float,
    threads: int,
    temp_root: str,
    compression: str | None,
    on_output: Callable[[Path], dict] | None = None,
) -> dict:
    """Time one `tpchgen-cli parquet` run; `available: False` with a reason if it cannot run.

    `on_output` measures the files it wrote before they are deleted (kept under `output`)."""
    exe = shutil.which("tpchgen-cli")
    if exe is None:
        return {"available": False, "reason": "tpchgen-cli is not on PATH (pip install it)"}
    out = tempfile.mkdtemp(prefix="tpch-", dir=temp_root)
    cmd = [exe, "parquet", "-s", f"{scale:g}", "-n", str(threads), "-o", out, "-q", "--no-progress"]
    if compression:
        cmd.append(f"--compression={compression}")
    try:
        before, machine_before = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu()
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        after, machine_after = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu()
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"available": False, "reason": f"tpchgen-cli failed: {reason[0]}"}
        files = sorted(Path(out).rglob("*.parquet"))
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        size = sum(f.stat().st_size for f in files)
        measured = on_output(Path(out)) if on_output else None
    finally:
        shutil.rmtree(out, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "available": True,
        "version": tpchgen_version(),
        "command": " ".join(["tpchgen-cli", *("<tmp>" if a == out else a for a in cmd[1:])]),
        "scale": scale,
        "threads": threads,
        "compression": compression or "default (SNAPPY)",
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "rows": rows,
        "bytes": size,
        "rows_per_second_per_core": round(rows / wall / threads),
        "rows_per_cpu_second": round(rows / max(cpu, 1e-9)),
        "machine": machine_share(machine_before, machine_after, cpu),
        **({"output": measured} if measured is not None else {}),
    }
