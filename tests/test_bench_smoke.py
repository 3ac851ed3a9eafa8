"""The bench's smoke mode runs end to end in seconds, so `python -m bench` never rots."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECTIONS = (
    "meta",
    "end_to_end",
    "per_table",
    "write_floor",
    "time_split",
    "scaling",
    "memory",
    "tpch",
    "targets",
)
TARGETS = {
    "cpu_vs_write_floor",
    "cpu_vs_write_floor_fresh_plan",
    "rows_per_second_per_core",
    "parallel_efficiency",
    "ray_start_and_broadcast_share_of_year",
    "full_backlog_seconds",
}
BACKLOG_START = dt.date(2023, 6, 1)
SMOKE_TIMEOUT_SECONDS = 240  # the run takes ~20 s alone; the margin is for a loaded box
VERIFY_TIMEOUT_SECONDS = 240  # three lakes written and verified: ~90 s on a loaded 2-core box


def run_bench(*args: str, out: Path, timeout: float) -> tuple[dict, str]:
    """`python -m bench *args --out out` as a subprocess (it starts and stops its own Ray):
    (the report it wrote, what it printed). TMPDIR=/tmp: a session fixture may point TMPDIR at
    a deep folder, and Ray's socket paths under it would pass the 107-byte AF_UNIX limit."""
    done = _python_module("bench", *args, "--out", str(out), timeout=timeout)
    return json.loads(out.read_text()), done.stdout


def _python_module(*args: str, timeout: float) -> subprocess.CompletedProcess:
    """`python -m *args` from the repository; it must succeed."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "TMPDIR": "/tmp"}
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    """One smoke run of the suite."""
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    report, printed = run_bench("--smoke", out=out, timeout=SMOKE_TIMEOUT_SECONDS)
    assert "target cpu_vs_write_floor" in printed  # the table was printed
    return report


def _positive(section: dict, *keys: str) -> None:
    for key in keys:
        assert section[key] > 0, f"{key} = {section[key]!r}"


class TestBenchSmoke:
    def test_bench_smoke_has_every_section(self, report):
        assert set(SECTIONS) <= set(report)
        assert report["meta"]["smoke"] is True
        assert report["meta"]["machine"]["nproc"] >= 1

    def test_bench_smoke_end_to_end_positive(self, report):
        for label in ("fixed", "scaled"):
            run = report["end_to_end"][label]
            _positive(run, "wall_seconds", "total_rows", "rows_per_second_per_core", "lake_bytes")
            _positive(run["cpu_seconds"], "workers", "total")
            assert run["worker_peak_mb"] and min(run["worker_peak_mb"]) > 0
        assert sum(t["rows"] for t in report["per_table"].values()) > 0

    def test_bench_smoke_times_the_plan_fresh_and_from_the_cache(self, report):
        e2e = report["end_to_end"]
        assert e2e["fixed_fresh_plan"]["plan_cached"] is False
        assert e2e["fixed"]["plan_cached"] is True and e2e["scaled"]["plan_cached"] is True
        assert e2e["fixed_fresh_plan"]["total_rows"] == e2e["fixed"]["total_rows"]
        assert e2e["fixed_fresh_plan"]["lake_bytes"] == e2e["fixed"]["lake_bytes"]
        cache = report["time_split"]["plan_cache"]
        _positive(cache, "store_wall_seconds", "load_wall_seconds")
        _positive(report["write_floor"], "ratio_fresh_plan")

    def test_bench_smoke_floor_matches_the_run(self, report):
        floor = report["write_floor"]
        _positive(floor, "rows", "files", "cpu_seconds", "rows_per_cpu_second", "ratio")
        assert floor["rows_match_run"] and floor["bytes_match_run"]  # the bench mirrors run_day
        flat = floor["flat_folder"]
        assert (flat["rows"], flat["files"], flat["bytes"]) == (
            floor["rows"],
            floor["files"],
            floor["bytes"],
        )
        _positive(floor, "ratio_flat_folder")

    def test_bench_smoke_time_split_positive(self, report):
        split = report["time_split"]
        _positive(split["stage_cpu_seconds"], "render", "lineage", "encode", "write", "commit")
        _positive(split, "ray_start_seconds", "day_pipeline_cpu_seconds")
        own = split["own_ray_run"]
        _positive(own, "wall_seconds", "total_rows")
        assert own["total_rows"] == report["end_to_end"]["scaled"]["total_rows"]
        _positive(split["broadcast"], "put_seconds", "broadcast_seconds")
        assert split["stage_cpu_seconds"]["messiness"] >= 0.0  # ~0 at the clean level

    def test_bench_smoke_scaling_and_memory_positive(self, report):
        scaling = report["scaling"]
        for entry in scaling["efficiency"]:
            _positive(entry, "parallel_efficiency", "parallel_efficiency_excl_plan")
            assert entry["one_worker"]["workers"] == 1
        assert len(scaling["windows"]) >= 2
        for run in report["memory"]["runs"]:
            _positive(run, "driver_peak_mb", "max_worker_peak_mb")

    def test_bench_smoke_tpch_measured_or_skipped_plainly(self, report):
        tpch = report["tpch"]
        if tpch["available"]:
            _positive(tpch, "rows", "wall_seconds", "rows_per_second_per_core")
        else:
            assert tpch["reason"]

    def test_bench_smoke_judges_every_target(self, report):
        assert {t["name"] for t in report["targets"]} == TARGETS


def test_write_floor_writes_each_file_at_its_lake_path(tmp_path, monkeypatch):
    """The floor pays for the partition folders the lake needs; `flat` writes one folder."""
    monkeypatch.syspath_prepend(str(REPO))
    import pyarrow as pa

    from bench.pipeline import write_floor
    from bench.workload import BACKLOG, load_workload

    work = load_workload(BACKLOG, BACKLOG_START, smoke=True)
    rows = pa.table({"order_id": ["a", "b"], "n": [1, 2]})
    chunks = [
        (rows, ("order_id",), "orders/ingest_dt=2024-01-01/part-00000.parquet"),
        (rows.slice(1), ("order_id",), "orders/ingest_dt=2024-01-02/part-00000.parquet"),
    ]
    lake = write_floor(chunks, work, str(tmp_path / "lake"))
    flat = write_floor(chunks, work, str(tmp_path / "flat"), flat=True)
    written = sorted(
        p.relative_to(tmp_path / "lake").as_posix() for p in (tmp_path / "lake").rglob("*.parquet")
    )
    assert written == [path for _, _, path in chunks]
    assert sorted(p.name for p in (tmp_path / "flat").iterdir()) == [
        "000000.parquet",
        "000001.parquet",
    ]
    assert (lake["rows"], lake["files"], lake["bytes"]) == (3, 2, flat["bytes"])


@pytest.mark.slow
def test_bench_verify_measures_its_lakes_and_reuses_them(tmp_path, monkeypatch):
    """`--verify --smoke`: the three lakes written into --lakes, each verified by a process of
    its own whose peak RSS is read; asked again, the bench finds the lakes and writes nothing."""
    lakes, out = tmp_path / "lakes", tmp_path / "verify.json"
    report, _ = run_bench(
        "--verify", "--smoke", "--lakes", str(lakes), out=out, timeout=VERIFY_TIMEOUT_SECONDS
    )
    runs = report["verify"]["lakes"]
    assert set(runs) == {"scaled", "world", "messy"} and runs["world"]["days"] == 92
    assert runs["messy"]["level"] == "heavy_mess" and runs["messy"]["days"] == 4
    assert runs["messy"]["args"] == ["--against-defects"]
    for run in runs.values():
        assert run["exit_code"] == 0 and run["ok"], run
        _positive(run, "wall_seconds", "peak_rss_mb", "parquet_bytes")

    monkeypatch.syspath_prepend(str(REPO))
    from bench.verify_runs import ensure_lake, lake_windows
    from bench.workload import BACKLOG, load_workload

    work = load_workload(BACKLOG, BACKLOG_START, smoke=True)
    written = {p: p.stat().st_mtime_ns for p in lakes.rglob("_SUCCESS")}
    for lake in lake_windows(work, 4).values():
        assert ensure_lake(work, lakes, lake, 1).is_dir()
    assert {p: p.stat().st_mtime_ns for p in lakes.rglob("_SUCCESS")} == written


@pytest.mark.slow
def test_bench_format_compares_a_table_format_with_parquet(tmp_path):
    report, printed = run_bench(
        "--smoke",
        "--format",
        "delta",
        out=tmp_path / "delta.json",
        timeout=SMOKE_TIMEOUT_SECONDS * 2,
    )
    section = report["formats"]
    assert section["format"] == "delta" and section["ratio"] > 0
    assert len(section["wall_seconds"]["delta"]) == len(section["wall_seconds"]["parquet"]) == 1
    assert "ratio" in printed


@pytest.mark.slow
def test_bench_scale_measures_both_generators_alike(tmp_path):
    """`--scale --smoke --compression snappy`: the world cold, warm (from the plan cache) and
    with the cache emptied again, its write floor re-encoding the very files the run wrote, and
    tpchgen-cli's figures when it is on PATH, all with the codec asked for (zstd, the default,
    is what the floor test pins)."""
    args = ("--scale", "--smoke", "--compression", "snappy")
    report, printed = run_bench(
        *args, out=tmp_path / "scale.json", timeout=SMOKE_TIMEOUT_SECONDS * 2
    )
    assert "CPU/floor" in printed and ", snappy (figures per core" in printed
    section = report["scale"]
    assert section["world"]["compression"] == "snappy"
    cold, warm, cold_plan = (section["ours"][k] for k in ("cold", "warm", "cold_plan"))
    assert (cold["plan_cached"], warm["plan_cached"], cold_plan["plan_cached"]) == (
        False,
        True,
        False,
    )
    assert cold["rows"] == warm["rows"] == sum(section["world"]["rows_by_table"].values())
    assert cold_plan["rows"] == warm["rows"] and "ours cold plan" in printed
    for figures in (cold, warm, cold_plan):
        _positive(figures, "wall_seconds", "rows_per_second_per_core", "cpu_over_write_floor")
        _positive(figures, "parquet_mb_per_second_per_core")
    floor = section["write_floor"]
    assert floor["rows"] == warm["rows"] and floor["bytes_match_run"]  # same tables, same bytes
    assert set(section["file_create_ms"]) == {"before_cold", "before_warm"}
    assert all(ms >= 0 for ms in section["file_create_ms"].values())
    assert "kernel CPU to create a file" in printed and "host probe:" in printed
    assert report["meta"]["machine"]["host_probe_ms"] == section["host_probe_ms"] > 0
    if section["tpch"]["available"]:
        _positive(section["tpch_figures"], "rows", "cpu_over_write_floor")
        assert section["tpch"]["compression"] == "SNAPPY"
        assert section["tpch_write_floor"]["rows"] == section["tpch"]["rows"]
    else:
        assert section["tpch"]["reason"]


@pytest.mark.slow
def test_big_world_bench_runs_in_blocks(tmp_path):
    """`python -m bench.big` on a small world forced into blocks: rows, plan and memory reported."""
    args = ["--customers", "3000", "--start", "2025-03-01", "--days", "2"]
    args += ["--block-customers", "1000", "--workers", "1", "--temp", str(tmp_path)]
    done = _python_module("bench.big", *args, timeout=SMOKE_TIMEOUT_SECONDS)
    figures = json.loads(done.stdout)
    assert figures["days"] == 2 and figures["rows"] > 0 and figures["parquet_mb"] > 0
    assert figures["driver_peak_mb"] > 0 and figures["plan_seconds"] > 0
    assert figures["host_probe_ms"] > 0 and figures["file_create_ms"] >= 0
    assert not list(tmp_path.iterdir())  # the lake is removed


def test_scale_codecs_are_named_for_tpchgen_with_pyarrows_levels(monkeypatch):
    """Both generators write with one codec at one level: zstd is ZSTD(1), as `generate` writes."""
    monkeypatch.syspath_prepend(str(REPO))
    from bench.scale import TPCH_CODECS, scale_workload, tpch_codec
    from ecomlake.lake import COMPRESSIONS, ParquetOptions

    assert set(TPCH_CODECS) == set(COMPRESSIONS)
    assert tpch_codec("zstd")[0] == "ZSTD(1)"
    assert tpch_codec("zstd")[1].compression_level == 1
    assert tpch_codec("gzip")[0] == "GZIP(9)"
    assert tpch_codec("lz4")[0] == "LZ4_RAW" and tpch_codec("none")[0] == "UNCOMPRESSED"
    assert tpch_codec("snappy") == ("SNAPPY", ParquetOptions(compression="snappy"))
    assert tpch_codec("lz4")[1] == ParquetOptions(compression="lz4")  # no level: pyarrow's own
    work = scale_workload(True, "lz4")
    assert work.parquet.compression == "lz4"
    assert work.options("out", 1, 1).compression == "lz4"
    assert scale_workload(True).options("out", 1, 1).compression == "zstd"


def test_bench_compression_is_refused_without_scale(monkeypatch):
    """The codec is only a knob of the scale comparison; elsewhere it is refused before any run."""
    monkeypatch.syspath_prepend(str(REPO))
    from bench.suite import main

    with pytest.raises(SystemExit, match="--compression: only with --scale"):
        main(["--smoke", "--compression", "lz4"])
