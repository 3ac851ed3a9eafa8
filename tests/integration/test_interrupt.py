"""Ctrl-C and SIGTERM on a real `ecomlake generate` process: exit 130 with one line saying how far
the run got, no Ray crash report, the lock released, every committed partition whole, no Ray
process left behind; the same command then finishes the lake byte for byte.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecomlake.verify import check_manifests

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
PINNED = ["--batch-id", "test", "--ingestion-ts", "2024-04-01T00:00:00+00:00"]
RAY_CRASH_MARKS = ("discovered a bug", "*** SIG", "logging.cc", "Check failed", "Traceback")
DAY_TASK = b"ray::_run_day_on_node"  # the title of a Ray worker while it renders a day
INCOMPLETE = {"manifests.success_missing", "manifests.manifest_missing"}  # cut off mid-write


def _digest(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_runs" not in p.parts
    }


def _committed(root: Path) -> int:
    return sum(1 for _ in root.rglob("_SUCCESS"))


def _command(target: Path, *extra: str, config: Path = QUICK) -> list[str]:
    return [sys.executable, "-m", "ecomlake", "generate", "-c", str(config), "-t", str(target),
            "--no-progress", *PINNED, *extra]  # fmt: skip


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name: state, ppid, …; [] if it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time): tells a process apart from a later one that reuses its pid."""
    fields = _stat(pid)
    return (pid, fields[19]) if fields and fields[0] != "Z" else None


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (Ray's raylet, GCS and workers of a run it started)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _processes_naming(text: str) -> set[int]:
    """Live processes whose command line contains `text` (a Ray session dir, say)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


class Run:
    """One `ecomlake generate` in its own session, so a signal can go to its whole process group
    as Ctrl-C does in a terminal; whatever it started is killed if the test fails."""

    def __init__(self, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.out, self.err = logs.with_suffix(".out"), logs.with_suffix(".err")
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                command, env=env, start_new_session=True, stdout=out, stderr=err
            )
        self.seen: set[tuple[int, str]] = set()  # identities of every process it started

    def watch(self) -> None:
        self.seen |= {ident for pid in _descendants(self.proc.pid) if (ident := _identity(pid))}

    def survivors(self) -> list[int]:
        """Processes it started that are still running (its Ray, after it exited)."""
        return [pid for pid, start in self.seen if _identity(pid) == (pid, start)]

    def signal_group(self, sig: int) -> None:
        self.watch()
        os.killpg(self.proc.pid, sig)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        return code, self.out.read_text(), self.err.read_text()

    def kill_everything(self) -> None:
        self.watch()
        for pid in [self.proc.pid, *self.survivors()]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def start_run(tmp_path) -> Iterator:
    """Start runs of `ecomlake generate`; kill any of them (and their Ray) left at teardown."""
    runs: list[Run] = []
    path = os.pathsep.join([str(REPO), str(REPO / "tests")])  # our code and the test hooks
    env = {**os.environ, "PYTHONPATH": path, "HOME": str(tmp_path / "home")}

    def start(command: list[str], **env_changes: str | None) -> Run:
        run_env = {k: v for k, v in {**env, **env_changes}.items() if v is not None}
        runs.append(Run(command, run_env, tmp_path / f"run{len(runs)}"))
        return runs[-1]

    yield start
    for run in runs:
        if run.proc.poll() is None or run.survivors():
            run.kill_everything()


def _wait_for(condition, run: Run, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if run.proc.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted:\n{run.err.read_text()}")
        assert time.monotonic() < deadline, "the run never reached the point to interrupt"
        run.watch()
        time.sleep(0.02)


def _check_interrupted(target: Path, code: int, err: str, sig: int) -> dict:
    """Exit 130, the one-line verdict, no crash report, lock gone, committed partitions whole."""
    assert code == 130, err
    manifest = json.loads((target / "_runs" / "test.json").read_text())
    done, planned = len(manifest["days"]), manifest["days_planned"]
    assert f"interrupted: {done} of {planned} days committed; re-run the same command" in err
    assert 0 < done < planned
    assert manifest["interrupted"] == signal.Signals(sig).name and manifest["ok"] is False
    assert not [mark for mark in RAY_CRASH_MARKS if mark in err], err
    assert not (target / "_lock.json").exists()
    problems = [v for v in check_manifests(str(target)) if v.check not in INCOMPLETE]
    assert problems == [], problems
    return manifest


def _resume_matches(start_run, command: list[str], target: Path, reference: Path, **env) -> None:
    code, _, err = start_run(command, **env).finish(timeout=120)
    assert code == 0, err
    assert _digest(target) == _digest(reference)


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)]
)
def test_in_process_run_stops_after_the_day_in_flight(sig, start_run, tmp_path, quick_lake):
    target = tmp_path / "lake"
    command = _command(target, "--executor", "in-process")
    run = start_run(command)
    _wait_for(lambda: _committed(target) >= 20, run)
    run.signal_group(sig)
    code, _, err = run.finish(timeout=30)
    _check_interrupted(target, code, err, sig)
    _resume_matches(start_run, command, target, quick_lake)


def test_a_second_ctrl_c_exits_at_once_and_the_next_run_takes_the_lock_over(
    start_run, tmp_path, quick_lake
):
    target = tmp_path / "lake"
    command = _command(target, "--executor", "in-process")
    run = start_run([*command, "--post-export-hook", "hook_fixtures:slow"])
    _wait_for(lambda: _committed(target) >= 5, run)
    run.signal_group(signal.SIGINT)
    _wait_for(lambda: "SIGINT: stopping" in run.err.read_text(), run)  # winding down now
    run.signal_group(signal.SIGINT)
    code, _, err = run.finish(timeout=10)
    assert code == 130, err
    assert "SIGINT again: exiting now" in err
    assert "interrupted:" not in err  # it did not wait for the day in flight
    assert (target / "_lock.json").exists()  # left behind; its process is gone, so the next
    _resume_matches(start_run, command, target, quick_lake)  # run takes it over


def _our_ray(run: Run) -> set[int]:
    return {pid for pid in _descendants(run.proc.pid) if _identity(pid)}


def _ray_days_in_flight(run: Run) -> bool:
    """A day worker of our own Ray: the run is past Ray's start-up, its tasks in flight."""
    return any(DAY_TASK in _cmdline(pid) for pid in _our_ray(run))


def _well_under_way(target: Path) -> bool:
    """A fifth of the days committed: on a loaded machine they are done in-process while our
    Ray still starts, and a Ctrl-C then must stop the run just as cleanly."""
    return sum(1 for _ in target.glob("shopping_carts/*/_SUCCESS")) >= 20


def _busy_config(tmp_path: Path) -> Path:
    """The quick world with ten times the shoppers: its days outlast a local Ray's start-up, so
    Ray has days in flight to interrupt (the quick world's are all rendered in-process while a
    quiet machine starts Ray)."""
    text = QUICK.read_text()
    for small, big in (
        ("num_customers: 2000", "num_customers: 20000"),
        ("generate: 1500", "generate: 15000"),
    ):
        assert small in text, small
        text = text.replace(small, big)
    path = tmp_path / "busy.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_local_ray_run_stops_quietly_and_leaves_no_ray_behind(sig, start_run, tmp_path):
    """Resuming byte for byte is the in-process and cluster cases' to show (one Ray start less)."""
    target = tmp_path / "lake"
    command = _command(target, "--executor", "ray", "--workers", "2", config=_busy_config(tmp_path))
    run = start_run(command, RAY_AUTH_MODE=None)  # Ray's own default, which logs a notice
    _wait_for(lambda: _ray_days_in_flight(run) or _well_under_way(target), run)
    session = _session_dir(run)  # None while Ray has not started a process yet
    run.signal_group(sig)
    # A SIGTERM to the group while Ray starts kills its daemons, and ray.init waits on them for
    # up to 30 s in one call (the run has stopped rendering at once, see run/interrupt.py).
    code, out, err = run.finish(timeout=90)
    _check_interrupted(target, code, err, sig)
    assert "Token authentication" not in err + out
    gone = _eventually(lambda: not run.survivors() and not (session and _processes_naming(session)))
    assert gone, f"processes of the run (Ray session {session}) outlived it"


@pytest.fixture
def ray_cluster() -> Iterator[tuple[str, subprocess.Popen]]:
    """A user's Ray cluster: a 2-CPU head started by `ray start --block`, in its own process
    group, which is killed afterwards (never `ray stop`: it stops every Ray on the machine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="rh", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        ["ray", "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        assert _eventually(lambda: _answers(port), timeout=90), "the Ray head did not come up"
        yield f"127.0.0.1:{port}", head
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=30)
        shutil.rmtree(temp, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.ray
def test_ctrl_c_on_a_cluster_cancels_our_tasks_and_keeps_the_cluster(
    ray_cluster, start_run, tmp_path, quick_lake
):
    address, head = ray_cluster
    target = tmp_path / "lake"
    command = _command(target, "--ray-address", address)
    run = start_run(command)
    _wait_for(lambda: _committed(target) >= 20, run)
    run.signal_group(signal.SIGINT)
    code, _, err = run.finish(timeout=60)
    _check_interrupted(target, code, err, signal.SIGINT)
    assert head.poll() is None and _answers(int(address.rsplit(":", 1)[1])), "cluster stopped"

    def rendering() -> bool:
        return any(DAY_TASK in _cmdline(pid) for pid in _descendants(head.pid))

    assert _eventually(lambda: not rendering()), "a task of the interrupted run still runs"
    _resume_matches(start_run, command, target, quick_lake)


def _eventually(condition, timeout: float = 10) -> bool:
    """Whether `condition` holds within `timeout` (a killed worker takes a moment to go)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def _session_dir(run: Run) -> str | None:
    """The Ray session dir named on the command line of the run's raylet, if it has one yet."""
    for pid in _descendants(run.proc.pid):
        for arg in _cmdline(pid).split(b"\0"):
            if b"/session_" in arg:
                text = arg.decode()
                return text[text.index("/session_") :].split("/")[1]
    return None


@pytest.mark.ray
def test_cancel_ends_a_running_task_of_ours_within_its_bound(ray_session):
    from ecomlake.run.executors import CANCEL_WAIT_SECONDS, _cancel

    def render_forever() -> None:  # a day that would never commit by itself
        time.sleep(600)

    ref = ray_session.remote(num_cpus=1, max_retries=3)(render_forever).remote()
    ray_session.wait([ref], timeout=2)  # let it start
    started = time.monotonic()
    _cancel(ray_session, [ref])
    assert time.monotonic() - started < CANCEL_WAIT_SECONDS + 5
    with pytest.raises(ray_session.exceptions.TaskCancelledError):  # and not retried
        ray_session.get(ref, timeout=10)
