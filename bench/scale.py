"""`python -m bench --scale`: the one-year world at a million customers next to tpchgen-cli.

The world is gen_config/template.yaml with 1,000,000 customers and 1,000,000 carts a year,
generated whole on a local Ray three times: first with no plan cached on the new Ray, whose
workers start in it (cold), then from the cache (warm), then with an empty cache again on the
workers already up (cold plan: the plan's cost alone, as on any Ray that outlives one run).
tpchgen-cli then writes TPC-H at scale 1 with the same codec at the same level (zstd: ZSTD(1)) on
the same number of threads. Both get the same figures: wall, rows and MB of Parquet per second
per core, and CPU over a write floor (pyarrow alone re-encoding the very tables each one wrote,
read back from its files, with that codec).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from bench.machine import file_create_ms
from bench.pipeline import Chunk, write_floor
from bench.ray_runs import end_to_end, start_ray, stop_ray
from bench.tpch import run_tpchgen
from bench.workload import REPO, Workload
from ecomlake.config.load import load_config_text
from ecomlake.lake import ParquetOptions
from ecomlake.plan.cache import CACHE_ENV
from ecomlake.render.registry import table_spec

TEMPLATE = REPO / "gen_config" / "template.yaml"
CUSTOMERS = 1_000_000
CARTS = 1_000_000
# tpchgen-cli's name of each codec `generate` has; levelled ones get pyarrow's default level.
TPCH_CODECS = {"zstd": "ZSTD", "snappy": "SNAPPY", "gzip": "GZIP", "brotli": "BROTLI"}
TPCH_CODECS |= {"lz4": "LZ4_RAW", "none": "UNCOMPRESSED"}  # pyarrow's lz4 writes LZ4_RAW
_TPCH_LEVELLED = ("zstd", "gzip", "brotli")
# Smoke: the same knobs on a week and a few hundred customers, so the test runs in seconds.
_SMOKE_SIZE = 300
_SMOKE_WINDOW = (dt.date(2025, 12, 1), dt.date(2025, 12, 7))
_FLOOR_BATCH = 200  # files re-encoded per batch: bounds the memory of the floor on a big lake


def tpch_codec(compression: str) -> tuple[str, ParquetOptions]:
    """tpchgen-cli's `--compression` for one of our codecs, and the floor options that encode
    as it does: the level pinned to pyarrow's default, which is what our runs write with."""
    name = TPCH_CODECS[compression]
    if compression not in _TPCH_LEVELLED:  # lz4 has a level in pyarrow, not in tpchgen-cli
        return name, ParquetOptions(compression=compression)
    level = pa.Codec.default_compression_level(compression)
    return f"{name}({level})", ParquetOptions(compression=compression, compression_level=level)


def scale_workload(smoke: bool, compression: str = Workload.compression) -> Workload:
    """template.yaml with the customer and cart counts raised (smoke: shrunk to a week)."""
    data = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    size = _SMOKE_SIZE if smoke else None
    data["lookup_config"]["customers"]["num_customers"] = size or CUSTOMERS
    for table in data["tables"]:
        if table["name"] == "shopping_carts":
            table["generate"] = size or CARTS
    if smoke:
        data["parameters"]["start_date"], data["parameters"]["end_date"] = _SMOKE_WINDOW
    label = f"{TEMPLATE} ({'smoke size' if smoke else 'scale: 1M customers, 1M carts'})"
    cfg = load_config_text(yaml.safe_dump(data), source=label)
    pinned = cfg.parameters.pinned_window()
    if pinned is None:
        raise ValueError(f"{TEMPLATE}: the scale world needs parameters.start_date and end_date")
    return Workload(TEMPLATE, cfg, pinned[0], smoke=smoke, compression=compression)


def _floor_of_files(
    root: Path, work: Workload, options: ParquetOptions, key_of: Callable[[str], tuple[str, ...]]
) -> dict:
    """`write_floor` over every Parquet file under `root`, read back a batch at a time.

    The floor's files stay beside the lake until the suite ends, as the runs' lakes do
    (`end_to_end`): a batch deleted here would slow the files of the next one."""
    files = sorted(root.rglob("*.parquet"))
    totals = {"rows": 0, "files": 0, "bytes": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0}
    folder = tempfile.mkdtemp(prefix="floor-", dir=root.parent)
    for first in range(0, len(files), _FLOOR_BATCH):
        chunks: list[Chunk] = []
        for path in files[first : first + _FLOOR_BATCH]:
            rel = path.relative_to(root).as_posix()
            chunks.append((pq.read_table(path), key_of(rel), rel))
        part = write_floor(chunks, work, folder, options=options)
        for key in totals:
            totals[key] += part[key]
    totals["source_bytes"] = sum(p.stat().st_size for p in files)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in totals.items()}


def _lake_keys(rel_path: str) -> tuple[str, ...]:
    """A lake file's key columns, which the lake writes without a dictionary."""
    return table_spec(rel_path.split("/", 1)[0]).pk


def _figures(rows: int, size: int, wall: float, cpu: float, workers: int, floor: dict) -> dict:
    """The figures both generators are compared on."""
    return {
        "rows": rows,
        "parquet_mb": round(size / 1e6, 1),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "rows_per_second_per_core": round(rows / wall / workers),
        "parquet_mb_per_second_per_core": round(size / 1e6 / wall / workers, 2),
        "write_floor_cpu_seconds": floor["cpu_seconds"],
        "cpu_over_write_floor": round(cpu / max(floor["cpu_seconds"], 1e-9), 2),
    }


def scale_section(work: Workload, workers: int, tpch_scale: float, temp_root: str) -> dict:
    """The whole world cold and warm on one local Ray, then tpchgen-cli; both measured alike."""
    first, days = work.world_days()
    start_ray(workers, temp_root)
    create_ms = {}
    try:
        create_ms["before_cold"] = file_create_ms(temp_root)
        cold = end_to_end(work, days, workers, temp_root, start=first)  # empty cache: plans
        create_ms["before_warm"] = file_create_ms(temp_root)
        warm = end_to_end(
            work,
            days,
            workers,
            temp_root,
            start=first,
            on_lake=lambda root: _floor_of_files(root, work, work.parquet, _lake_keys),
        )
        cold_plan = _with_empty_plan_cache(
            temp_root, lambda: end_to_end(work, days, workers, temp_root, start=first)
        )
    finally:
        stop_ray()
    floor = warm.pop("lake")
    ours = {}
    for label, run in (("cold", cold), ("warm", warm), ("cold_plan", cold_plan)):
        cpu = run["cpu_seconds"]["total"]
        ours[label] = _figures(
            run["total_rows"], run["lake_bytes"], run["wall_seconds"], cpu, workers, floor
        )
        ours[label].update(plan_cached=run["plan_cached"], plan_seconds=run["plan_seconds"])
    codec, tpch_options = tpch_codec(work.compression)
    tpch = run_tpchgen(
        tpch_scale,
        workers,
        temp_root,
        codec,
        on_output=lambda root: _floor_of_files(root, work, tpch_options, lambda _: ()),
    )
    section = {
        "world": {
            "config": f"{TEMPLATE.relative_to(REPO)} with num_customers and carts raised",
            "customers": work.config.lookup_config.customers.num_customers,
            "start": first.isoformat(),
            "days": days,
            "workers": workers,
            "compression": work.compression,
            "rows_by_table": warm["rows"],
        },
        "ours": ours,
        "file_create_ms": create_ms,
        "write_floor": {**floor, "bytes_match_run": floor["bytes"] == warm["lake_bytes"]},
        "runs": {"cold": cold, "warm": warm, "cold_plan": cold_plan},
        "tpch": tpch,
    }
    if tpch.get("available"):
        out = tpch.pop("output")
        section["tpch_figures"] = _figures(
            tpch["rows"], tpch["bytes"], tpch["wall_seconds"], tpch["cpu_seconds"], workers, out
        )
        section["tpch_write_floor"] = out
    return section


def _with_empty_plan_cache(temp_root: str, run: Callable[[], dict]) -> dict:
    """`run` with the plan cache pointed at a new, empty folder: it plans and stores again, as
    a user's first run does (`plan_cache=False`, the suite's fresh-plan run, would not store)."""
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="plans-", dir=temp_root)
    try:
        return run()
    finally:
        if before is None:
            os.environ.pop(CACHE_ENV)
        else:
            os.environ[CACHE_ENV] = before


def print_scale(section: dict) -> None:
    """One line per run: ecomlake cold, warm and cold plan, and tpchgen-cli."""
    world = section["world"]
    print(
        f"scale: {world['customers']:,} customers, {world['days']} days from {world['start']}, "
        f"{world['workers']} workers, {world['compression']} (figures per core; the box may be "
        "shared: see load in JSON)"
    )
    header = ("run", "wall s", "CPU s", "rows", "MB", "rows/s/core", "MB/s/core", "CPU/floor")
    print("{:<16}{:>9}{:>9}{:>12}{:>9}{:>13}{:>11}{:>11}".format(*header))
    rows = [(f"ours {k.replace('_', ' ')}", v) for k, v in section["ours"].items()]
    if "tpch_figures" in section:
        rows.append(("tpchgen-cli", section["tpch_figures"]))
    else:
        print(f"tpchgen-cli: {section['tpch']['reason']}")
    for label, f in rows:
        print(
            f"{label:<16}{f['wall_seconds']:>9.1f}{f['cpu_seconds']:>9.1f}{f['rows']:>12,}"
            f"{f['parquet_mb']:>9.1f}{f['rows_per_second_per_core']:>13,}"
            f"{f['parquet_mb_per_second_per_core']:>11.2f}{f['cpu_over_write_floor']:>11.2f}"
        )
    probes = section.get("file_create_ms", {})
    if probes:
        said = ", ".join(f"{ms} ms {when.replace('_', ' ')}" for when, ms in probes.items())
        print(f"kernel CPU to create a file: {said} (about 0.025 on a quiet disk here)")
    if "host_probe_ms" in section:
        print(f"host probe: {section['host_probe_ms']} ms (52-59 in a fast hour here)")
