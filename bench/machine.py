"""What the figures ran on, and /proc readings of CPU and peak memory for a process tree.

psutil is not installed here, so CPU and VmHWM come straight from /proc (Linux only). Ray's
daemons and workers are descendants of the driver when it starts a local instance, which is
what lets one driver account for every CPU second a run costs.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_RESET_PEAK_RSS = "5"  # /proc/<pid>/clear_refs: reset VmHWM to the current RSS (Linux >= 4.0)
_PACKAGES = ("ecomlake", "ray", "pyarrow", "numpy", "pandas", "pydantic")


@dataclass(frozen=True)
class Proc:
    """One process seen in /proc: pid, parent, command line and CPU seconds so far."""

    pid: int
    ppid: int
    cmd: str
    cpu_seconds: float


def machine_info() -> dict:
    """CPU count and model, memory, load and package versions, for the JSON header."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = _status_kb(Path("/proc/meminfo").read_text(), "MemTotal")
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    versions["tpchgen-cli"] = tpchgen_version()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "load_average_at_start": list(os.getloadavg()),
        "host_probe_ms": host_probe_ms(),
        "started_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "versions": versions,
    }


FILE_PROBE_COUNT = 1000
HOST_PROBE_ROWS = 300_000
HOST_PROBE_REPEATS = 15


def host_probe_ms() -> float:
    """Best-of-15 ms for pyarrow to encode one fixed 300,000-row table with zstd: a yardstick
    of the host's speed at the time. On this shared host it ranged from 52 to 93 ms within an
    hour, so figures from different runs compare only when their probes do."""
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    keys = rng.integers(0, 1 << 62, HOST_PROBE_ROWS)
    table = pa.table(
        {
            "key": rng.integers(0, 1 << 40, HOST_PROBE_ROWS),
            "hex": pa.array([f"{k:064x}" for k in keys]),
            "code": rng.integers(0, 20, HOST_PROBE_ROWS),
        }
    )
    best = float("inf")
    for _ in range(HOST_PROBE_REPEATS):
        before = time.process_time()
        pq.write_table(table, io.BytesIO(), compression="zstd")
        best = min(best, time.process_time() - before)
    return round(best * 1e3, 1)


def file_create_ms(folder: str) -> float:
    """Kernel CPU, in ms, to create one empty file in a fresh folder under `folder` (the files
    stay: deleting them would slow the next creates). On ext4 without a journal this rises
    tenfold for minutes after a mass delete nearby (docs/performance.md), which a lake of
    thousands of files pays in full: the figure says whether a run was measured on a quiet disk."""
    probe = tempfile.mkdtemp(prefix="create-probe-", dir=folder)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_stime  # finer than os.times' ticks
    for index in range(FILE_PROBE_COUNT):
        with open(os.path.join(probe, f"f{index}"), "wb"):
            pass
    spent = resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
    return round(1e3 * spent / FILE_PROBE_COUNT, 3)


def tpchgen_version() -> str | None:
    """`tpchgen-cli --version` text, or None when the binary is not on PATH."""
    exe = shutil.which("tpchgen-cli")
    if exe is None:
        return None
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().split()[-1] if done.stdout.strip() else None


def _status_kb(text: str, field: str) -> int:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM (peak resident set) of a process in MiB; 0 if it is gone."""
    try:
        return _status_kb(Path(f"/proc/{pid}/status").read_text(), "VmHWM") / 1024
    except OSError:
        return 0.0


def reset_peak_rss(pid: int | str = "self") -> bool:
    """Start a new peak-memory window for a process; False if the kernel refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text(_RESET_PEAK_RSS)
    except OSError:
        return False
    return True


def processes() -> dict[int, Proc]:
    """Every process we can read, keyed by pid."""
    found: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        fields = stat.rsplit(")", 1)[1].split()  # the command name may contain spaces
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND  # utime + stime
        found[int(entry)] = Proc(int(entry), int(fields[1]), cmd.strip(), cpu)
    return found


def descendants(root: int | None = None) -> list[Proc]:
    """Every live process below `root` (default: this one)."""
    table = processes()
    children: dict[int, list[Proc]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc)
    out: list[Proc] = []
    stack = [root or os.getpid()]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child.pid)
    return out


def is_ray_worker(proc: Proc) -> bool:
    """Ray task workers rename themselves `ray::<task>` (agents are `ray::...Agent`)."""
    return proc.cmd.startswith("ray::") and "Agent" not in proc.cmd


def tree_cpu() -> dict[str, float]:
    """CPU seconds so far of this process, its Ray workers and its other descendants."""
    procs = descendants()
    workers = sum(p.cpu_seconds for p in procs if is_ray_worker(p))
    others = sum(p.cpu_seconds for p in procs if not is_ray_worker(p))
    times = os.times()
    return {"driver": times.user + times.system, "workers": workers, "ray_daemons": others}


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Per-group CPU seconds between two `tree_cpu` readings (a process that exited is lost)."""
    return {k: round(max(after[k] - before.get(k, 0.0), 0.0), 3) for k in after}


def reset_worker_peaks() -> None:
    """New peak-memory window for the driver and every live Ray worker."""
    reset_peak_rss()
    for proc in descendants():
        if is_ray_worker(proc):
            reset_peak_rss(proc.pid)


def machine_cpu() -> dict[str, float]:
    """Machine-wide CPU seconds so far from /proc/stat: busy, iowait and idle (all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    busy = user + nice + system + irq + softirq + steal
    return {
        k: v / _TICKS_PER_SECOND for k, v in (("busy", busy), ("iowait", iowait), ("idle", idle))
    }


def machine_share(before: dict[str, float], after: dict[str, float], ours: float) -> dict:
    """How the machine spent a run: busy, iowait, idle, and CPU burnt by other processes."""
    delta = {k: after[k] - before[k] for k in after}
    total = max(sum(delta.values()), 1e-9)
    return {
        "busy_share": round(delta["busy"] / total, 3),
        "iowait_share": round(delta["iowait"] / total, 3),
        "idle_share": round(delta["idle"] / total, 3),
        "other_processes_cpu_seconds": round(max(delta["busy"] - ours, 0.0), 2),
    }


def rss_now_mb(pid: int | str = "self") -> dict[str, float]:
    """Current RSS split into private (anon), shared memory (Ray's object store) and files."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {"anon": 0.0, "shmem": 0.0, "file": 0.0}
    return {
        "anon": round(_status_kb(text, "RssAnon") / 1024, 1),
        "shmem": round(_status_kb(text, "RssShmem") / 1024, 1),
        "file": round(_status_kb(text, "RssFile") / 1024, 1),
    }


def worker_rss_now_mb() -> list[dict[str, float]]:
    """`rss_now_mb` of each live Ray worker, most private memory first."""
    found = [rss_now_mb(p.pid) for p in descendants() if is_ray_worker(p)]
    return sorted(found, key=lambda r: r["anon"], reverse=True)


def worker_peaks_mb() -> list[float]:
    """VmHWM of each live Ray worker, largest first."""
    peaks = [peak_rss_mb(p.pid) for p in descendants() if is_ray_worker(p)]
    return sorted((round(p, 1) for p in peaks if p > 0), reverse=True)
