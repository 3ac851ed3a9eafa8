"""Commit protocol: resume skips committed partitions, other configs are refused, one writer at a
time, and a driver or a worker killed mid-run never leaves a partition that looks complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ecomlake.api import generate
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.errors import OptionError
from ecomlake.run.driver import GenerateOptions
from ecomlake.verify import check_manifests

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
PINNED = {"batch_id": "test", "ingestion_ts": "2024-04-01T00:00:00+00:00"}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_runs" not in p.parts
    }


def _options(target: Path, **kw) -> GenerateOptions:
    return GenerateOptions(target=str(target), executor="in-process", **{**PINNED, **kw})


def test_rerun_skips_every_committed_partition(lake_copy, quick_config, quick_lake):
    before = {p: p.stat().st_mtime_ns for p in lake_copy.rglob("part-*.parquet")}
    result = generate(quick_config, _options(lake_copy))
    assert result.ok
    assert sum(r.partitions for r in result.results) == 0
    assert sum(r.skipped for r in result.results) == len(before)
    assert {p: p.stat().st_mtime_ns for p in lake_copy.rglob("part-*.parquet")} == before
    assert _digest(lake_copy) == _digest(quick_lake)


def test_rerun_rewrites_only_uncommitted_partitions(lake_copy, quick_config, quick_lake):
    partition = lake_copy / "orders" / "ingest_dt=2024-02-10"
    (partition / "_SUCCESS").unlink()
    (partition / "part-00000.parquet").write_bytes(b"half a file")
    (partition / "part-00007.parquet").write_bytes(b"stale part of an older, bigger write")
    result = generate(quick_config, _options(lake_copy))
    assert sum(r.partitions for r in result.results) == 1
    assert _digest(lake_copy) == _digest(quick_lake)


def test_another_config_is_refused_and_nothing_changes(lake_copy, capsys):
    before = _digest(lake_copy)
    code = run(["generate", "-c", str(QUICK), "-t", str(lake_copy), "--seed", "7",
                "--executor", "in-process", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "holds a lake made with another config, seed or window" in err
    assert "; this run: seed 7);" in err  # what differs, not only the lake's side
    assert "run with its own config (_config.yaml in the lake)" in err
    assert "--overwrite" in err and "\n" not in err
    assert _digest(lake_copy) == before
    assert not (lake_copy / "_lock.json").exists()


def test_a_lake_made_by_another_world_while_the_run_prepared_is_refused(
    tmp_path, quick_config, monkeypatch
):
    """The config check ran before the lock: a run of another config that took the lock while
    this one was still preparing (a slow hook import, a catalog, S3 reads) made its lake, and
    this run then took it over and mixed two worlds into it, exit 0. Now it is refused under
    the lock, and the other run's lake is left whole."""
    from ecomlake.run import driver

    target = tmp_path / "lake"
    day = (dt.date(2024, 1, 4),)
    real_prepare = driver._prepare

    def prepare_while_another_world_commits(cfg, options):
        prepared = real_prepare(cfg, options)  # no lake yet: every check passes
        monkeypatch.setattr(driver, "_prepare", real_prepare)
        assert generate(quick_config, _options(target, seed=7, dates=day)).ok
        return prepared

    monkeypatch.setattr(driver, "_prepare", prepare_while_another_world_commits)
    with pytest.raises(OptionError, match="holds a lake made with another config, seed or"):
        generate(quick_config, _options(target, dates=day))
    monkeypatch.undo()
    before = _digest(target)
    assert {json.loads(p.read_text())["seed"] for p in target.rglob("_MANIFEST.json")} == {7}
    assert json.loads((target / "_lake.json").read_text())["seed"] == 7
    assert not (target / "_lock.json").exists()
    assert check_manifests(str(target)) == [] and _digest(target) == before


def test_days_written_with_a_source_file_column_meanwhile_are_not_mixed(
    tmp_path, quick_config, monkeypatch
):
    """The source_file check read the run records before the lock: a run with a source prefix
    that took the lock while this one prepared wrote its days with the column, and this run
    then wrote days without it (a table has one schema). Now it is refused under the lock."""
    from ecomlake.run import driver

    target, real_prepare = tmp_path / "lake", driver._prepare

    def prepare_while_another_run_commits(cfg, options):
        prepared = real_prepare(cfg, options)  # no lake yet: every check passes
        monkeypatch.setattr(driver, "_prepare", real_prepare)
        other = _options(target, dates=(dt.date(2024, 1, 4),), batch_id="with-column",
                         source_prefix="gs://bucket/raw")  # fmt: skip
        assert generate(quick_config, other).ok
        return prepared

    monkeypatch.setattr(driver, "_prepare", prepare_while_another_run_commits)
    with pytest.raises(OptionError, match="this run leaves out the source_file column"):
        generate(quick_config, _options(target, dates=(dt.date(2024, 1, 5),)))
    assert not list(target.glob("*/ingest_dt=2024-01-05"))
    assert not (target / "_lock.json").exists()


def test_overwrite_replaces_the_lake(lake_copy, quick_config):
    result = generate(
        quick_config, _options(lake_copy, seed=7, overwrite=True, end_date=None, days=None,
                               dates=(__import__("datetime").date(2024, 1, 3),))
    )  # fmt: skip
    assert result.ok
    manifests = [json.loads(p.read_text()) for p in lake_copy.rglob("_MANIFEST.json")]
    assert manifests and {m["seed"] for m in manifests} == {7}
    assert not (lake_copy / "orders" / "ingest_dt=2024-03-01").exists()
    assert json.loads((lake_copy / "_lake.json").read_text())["seed"] == 7


def test_a_live_lock_refuses_a_second_run(lake_copy, capsys):
    lock = {"batch_id": "other", "host": os.uname().nodename, "pid": os.getpid(),
            "started_at": "2026-01-01T00:00:00+00:00", "token": "abc"}  # fmt: skip
    (lake_copy / "_lock.json").write_text(json.dumps(lock))
    code = run(["generate", "-c", str(QUICK), "-t", str(lake_copy), "--executor", "in-process",
                "--no-progress", "--batch-id", "test"])  # fmt: skip
    assert code == 2
    assert "another run is writing" in capsys.readouterr().err
    assert json.loads((lake_copy / "_lock.json").read_text())["token"] == "abc"


def test_a_dead_runs_lock_is_taken_over(lake_copy, quick_config):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock = {"batch_id": "dead", "host": os.uname().nodename, "pid": gone.pid,
            "started_at": "2026-01-01T00:00:00+00:00", "token": "dead"}  # fmt: skip
    (lake_copy / "_lock.json").write_text(json.dumps(lock))
    assert generate(quick_config, _options(lake_copy)).ok
    assert not (lake_copy / "_lock.json").exists()


def _lock_of_a_gone_host(lake: Path, hours_ago: float) -> None:
    """The lock a crashed nightly run left: another host's (its pod is gone), `hours_ago` old."""
    taken = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    lock = {"batch_id": "night", "host": "ecomlake-daily-29xk1-head-8hq2z", "pid": 4242,
            "started_at": taken.isoformat(timespec="seconds"), "token": "night"}  # fmt: skip
    (lake / "_lock.json").write_text(json.dumps(lock))


def test_an_old_lock_of_a_gone_host_is_taken_over_only_when_asked(lake_copy, quick_config, capsys):
    """Every night a new pod: a crashed night's lock (another host, so never judged) refused
    every later night until someone deleted it. --lock-expiry-hours takes it over once old; a
    younger lock (a run that may still be writing) is still refused."""
    _lock_of_a_gone_host(lake_copy, hours_ago=26)
    args = ["generate", "-c", str(QUICK), "-t", str(lake_copy), "--executor", "in-process",
            "--no-progress", "--dates", "2024-03-01"]  # fmt: skip
    assert run(args) == 2
    assert "--lock-expiry-hours" in capsys.readouterr().err  # the refusal says the way out
    assert run([*args, "--lock-expiry-hours", "20"]) == 0
    assert not (lake_copy / "_lock.json").exists()
    _lock_of_a_gone_host(lake_copy, hours_ago=3)
    assert run([*args, "--lock-expiry-hours", "20"]) == 2
    assert "another run is writing" in capsys.readouterr().err
    assert json.loads((lake_copy / "_lock.json").read_text())["token"] == "night"
    for bad in ("0", "-1", "nan"):
        assert run([*args, "--lock-expiry-hours", bad]) == 2
        assert "--lock-expiry-hours: must be hours > 0" in capsys.readouterr().err


def _committed(root: Path) -> int:
    return len(list(root.rglob("_SUCCESS")))


def test_killed_driver_leaves_no_false_commit_and_rerun_finishes(
    tmp_path, quick_config, quick_lake
):
    target = tmp_path / "lake"
    cmd = [sys.executable, "-m", "ecomlake", "generate", "-c", str(QUICK), "-t", str(target),
           "--executor", "in-process", "--no-progress", "--batch-id", "test",
           "--ingestion-ts", PINNED["ingestion_ts"]]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _committed(target) < 150 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = _committed(target)
    assert 0 < committed < sum(1 for _ in quick_lake.rglob("_SUCCESS")), "kill was not mid-run"
    incomplete = {"manifests.success_missing", "manifests.manifest_missing"}  # killed mid-write
    problems = [v for v in check_manifests(str(target)) if v.check not in incomplete]
    assert problems == [], problems  # every partition showing _SUCCESS is whole
    assert all((p.parent / "_MANIFEST.json").exists() for p in target.rglob("_SUCCESS"))

    done_before = {p.parent: p.stat().st_mtime_ns for p in target.rglob("_SUCCESS")}
    result = generate(quick_config, _options(target))
    assert result.ok
    assert sum(r.skipped for r in result.results) >= len(done_before)
    assert all(p.joinpath("_SUCCESS").stat().st_mtime_ns == m for p, m in done_before.items())
    assert _digest(target) == _digest(quick_lake)


def _parent(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _descends_from_us(pid: int) -> bool:
    """Our own Ray's workers are children of the raylet this test process started."""
    while pid > 1:
        pid = _parent(pid)
        if pid == os.getpid():
            return True
    return False


def _kill_one_day_worker(stop: threading.Event, killed: list[int]) -> None:
    """Kill the first of our Ray workers seen rendering a day (its process title names the task)."""
    while not stop.is_set() and not killed:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"ray::_run_day_on_node" in cmdline and _descends_from_us(int(entry.name)):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
                return
        time.sleep(0.01)


@pytest.mark.ray
def test_killed_ray_worker_is_retried_and_the_lake_is_identical(ray_session, tmp_path, quick_lake):
    cfg = load_config(QUICK)
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_one_day_worker, args=(stop, killed), daemon=True)
    killer.start()
    try:
        result = generate(cfg, GenerateOptions(target=str(tmp_path / "lake"), executor="ray",
                                               workers=2, **PINNED))  # fmt: skip
    finally:
        stop.set()
        killer.join(timeout=5)
    assert killed, "no worker was killed"
    assert result.ok, result.failures
    assert _digest(tmp_path / "lake") == _digest(quick_lake)


def test_overwrite_also_clears_defect_logs(tmp_path, quick_config):
    target = tmp_path / "lake"
    day = (__import__("datetime").date(2024, 1, 3),)
    assert generate(quick_config, _options(target, dates=day, messiness_level="heavy_mess")).ok
    assert (target / "_defects").exists()
    assert generate(quick_config, _options(target, dates=day, overwrite=True)).ok
    assert not any(p.name.startswith("_defects") for p in target.iterdir())


def test_an_error_that_stops_the_run_still_records_what_it_committed(tmp_path, monkeypatch):
    """An error out of the executor (a lost cluster, say) used to skip the run record: verify
    and --repair then took the written days' lineage from an earlier record, or none."""
    from ecomlake.lake import resolve_target
    from ecomlake.lake.identity import read_identity
    from ecomlake.lake.runs import read_run_records
    from ecomlake.run.executors import InProcessExecutor

    real = InProcessExecutor.map_days

    def two_days_then_lost(self, world, tasks, settings, stop=None):
        days = real(self, world, tasks, settings, stop)
        yield next(days)
        yield next(days)
        raise ConnectionError("the cluster went away")

    monkeypatch.setattr(InProcessExecutor, "map_days", two_days_then_lost)
    target = tmp_path / "lake"
    with pytest.raises(ConnectionError):
        generate(str(QUICK), _options(target, start_date=dt.date(2024, 2, 1), days=5))
    loc = resolve_target(str(target))
    (record,) = read_run_records(loc, read_identity(loc))  # readable, though a failure has no day
    assert [d.isoformat() for d in record.days] == ["2024-02-01", "2024-02-02"]
    body = json.loads((target / "_runs" / "test.json").read_text())
    assert body["ok"] is False
    assert "ConnectionError: the cluster went away" in body["failures"][0]["error"]
    monkeypatch.undo()
    assert run(["verify", str(target)]) == 1  # the days it never rendered
    again = _options(target, start_date=dt.date(2024, 2, 1), days=5, batch_id="again")
    assert generate(str(QUICK), again).ok
    assert run(["verify", str(target), "--deep"]) == 0


def test_an_interrupt_while_ray_starts_records_the_days_the_driver_did(tmp_path, monkeypatch):
    """The driver renders days itself while a local Ray starts; a Ctrl-C of a library caller in
    that time used to leave those days committed with no run record (verify then failed)."""
    from ecomlake.lake import resolve_target
    from ecomlake.lake.identity import read_identity
    from ecomlake.lake.runs import read_run_records
    from ecomlake.run.executors import RayExecutor

    def interrupted_start(self, warm: bool = False) -> None:
        deadline = time.monotonic() + 60
        while not list(target.glob("orders/*/_SUCCESS")) and time.monotonic() < deadline:
            time.sleep(0.05)  # Ray "starts" until the driver committed a day
        raise KeyboardInterrupt

    monkeypatch.setattr(RayExecutor, "starts_local_ray", lambda self: True)
    monkeypatch.setattr(RayExecutor, "start", interrupted_start)
    target = tmp_path / "lake"
    window = {"start_date": dt.date(2024, 2, 1), "days": 20}
    options = GenerateOptions(target=str(target), executor="ray", **PINNED, **window)
    with pytest.raises(KeyboardInterrupt):
        generate(str(QUICK), options)
    loc = resolve_target(str(target))
    (record,) = read_run_records(loc, read_identity(loc))
    assert record.days, "the days rendered while Ray started are recorded"
    body = json.loads((target / "_runs" / "test.json").read_text())
    assert "KeyboardInterrupt" in body["failures"][-1]["error"]
    monkeypatch.undo()
    again = _options(target, start_date=dt.date(2024, 2, 1), days=20, batch_id="again")
    assert generate(str(QUICK), again).ok
    assert run(["verify", str(target), "--deep"]) == 0
