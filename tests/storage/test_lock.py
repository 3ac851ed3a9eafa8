"""`_lock.json`: exactly one writer when runs start together, on local disk, S3 and GCS; stale
locks (killed process, reused pid, rebooted host) are taken over, exactly once; everything else
is refused with one line naming the lock file and its holder.

The GCS emulator ignores `ifGenerationMatch` (it overwrites whatever is there), so the GCS tests
run it with `gcs_preconditions`, which answers 412 as GCS does. The emulator serves one request
at a time, so that check is atomic there, as it is on GCS; the fixture also counts the requests
that carried the precondition, so the tests prove the client asks for it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from http import HTTPStatus

import pytest

from ecomlake.cli.app import run
from ecomlake.errors import StorageError
from ecomlake.lake.atomic import create_new
from ecomlake.lake.fs import list_dir, read_bytes, resolve_target, write_bytes
from ecomlake.lake.lock import LOCK_FILE, LakeLock, LockInfo, TargetLocked, process_start

from . import racers
from .conftest import free_port
from .lakes import s3_options, world_args

RACERS = 5  # 4 would do; 5 makes a double holder likelier where creation is not atomic
TRIALS = {"local": 20, "s3": 8, "gs": 8}


@pytest.fixture(scope="module")
def pool():
    made = racers.Racers(RACERS)
    yield made
    made.close()


@pytest.fixture
def gcs_preconditions(monkeypatch):
    """The emulator's uploads honour `ifGenerationMatch=0` (412 if the object exists); the
    returned list collects the names of the objects uploaded with it."""
    from gcp_storage_emulator.exceptions import NotFound
    from gcp_storage_emulator.handlers import objects

    upload = objects._multipart_upload
    asked: list[str] = []

    def conditional_upload(request, response, storage):
        if request.query.get("ifGenerationMatch") == ["0"]:
            name = request.query.get("name", [None])[0] or request.data["meta"]["name"]
            asked.append(name)
            try:
                storage.get_file_obj(request.params["bucket_name"], name)
            except NotFound:
                pass
            else:
                response.status = HTTPStatus.PRECONDITION_FAILED
                response.json({"error": {"code": 412, "message": "conditionNotMet"}})
                return None
        return upload(request, response, storage)

    monkeypatch.setattr(objects, "_multipart_upload", conditional_upload)
    return asked


@pytest.fixture(params=["local", "s3", "gs"])
def backend(request, tmp_path):
    """(kind, target URI for trial i, storage options) on a fresh folder or bucket."""
    kind = request.param
    if kind == "local":
        return kind, lambda i: str(tmp_path / f"t{i}"), {}
    if kind == "s3":
        bucket = request.getfixturevalue("make_bucket")("lock")
        options = s3_options(request.getfixturevalue("moto_server"))
        return kind, lambda i: f"s3://{bucket}/t{i}", options
    request.getfixturevalue("gcs_preconditions")
    bucket = request.getfixturevalue("make_gcs_bucket")("lock")
    options = {"endpoint_url": request.getfixturevalue("gcs_server")}
    return kind, lambda i: f"gs://{bucket}/t{i}", options


# ---------------------------------------------------------------------------------------------
# The primitive and the race


def test_create_new_creates_once_and_keeps_the_first_content(backend):
    _, target, options = backend
    loc = resolve_target(target(0), options)
    assert create_new(loc, "x.json", b"first")
    assert not create_new(loc, "x.json", b"second")
    assert read_bytes(loc, "x.json") == b"first"
    if loc.is_local:
        assert os.listdir(loc.root) == ["x.json"]  # no temp file left


def test_a_412_that_does_not_name_its_condition_still_means_exists(flaky_proxy, make_bucket):
    """AWS names the failed condition and s3fs then raises FileExistsError; a store that
    does not gets the same answer."""
    proxy = flaky_proxy(fail_paths=("/x.json",), fail_with="412")
    loc = resolve_target(f"s3://{make_bucket('lock')}/t", s3_options(proxy.endpoint))
    assert not create_new(loc, "x.json", b"1")
    assert proxy.injected["412"] == 1


def test_a_conflicting_create_on_s3_is_retried(flaky_proxy, make_bucket, monkeypatch):
    """S3 answers 409 ConditionalRequestConflict to a create racing another write of the key."""
    monkeypatch.setenv("ECOMLAKE_UPLOAD_BACKOFF_BASE", "0")
    proxy = flaky_proxy(every=2, modes=("409",))
    loc = resolve_target(f"s3://{make_bucket('lock')}/t", s3_options(proxy.endpoint))
    assert create_new(loc, "x.json", b"1")
    assert not create_new(loc, "x.json", b"2")  # 409, then the retry's 412
    assert proxy.injected["409"] == 1
    assert read_bytes(loc, "x.json") == b"1"


def test_a_dead_endpoint_fails_the_lock_in_one_line_naming_it(monkeypatch):
    monkeypatch.setenv("ECOMLAKE_UPLOAD_RETRIES", "1")
    loc = resolve_target("s3://nobody/lake", s3_options(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(StorageError, match=f"s3://nobody/lake/{LOCK_FILE}: create failed"):
        LakeLock(loc, "mine").acquire()


def test_creates_on_gcs_ask_for_the_precondition(gcs_preconditions, make_gcs_bucket, gcs_server):
    loc = resolve_target(f"gs://{make_gcs_bucket('lock')}/t", {"endpoint_url": gcs_server})
    assert create_new(loc, "y.json", b"1")
    assert not create_new(loc, "y.json", b"2")
    assert gcs_preconditions == ["t/y.json", "t/y.json"]


def test_racing_processes_one_holder_each_trial(backend, pool):
    kind, target, options = backend
    pool.same(racers.warm, target(0), options)
    for trial in range(TRIALS[kind]):
        results = pool.same(racers.take_lock, target(trial), options, f"b{trial}")
        lock = _lock_uri(resolve_target(target(trial), options))
        assert results.count(racers.HELD) == 1, (trial, results)
        refusals = [r for r in results if r != racers.HELD]
        assert all("another run is writing" in r and lock in r for r in refusals), refusals
        holder = LockInfo.parse(read_bytes(resolve_target(target(trial), options), LOCK_FILE))
        assert holder.batch_id == f"b{trial}" and holder.pid in pool.pids


def test_racing_creates_one_winner_each_trial(backend, pool):
    kind, target, options = backend
    pool.same(racers.warm, target(0), options)
    for trial in range(TRIALS[kind]):
        calls = [
            (racers.create, (target(0), options, f"c{trial}", f"{i}".encode()))
            for i in range(RACERS)
        ]
        results = pool.race(calls)
        assert results.count(True) == 1, (trial, results)
        winner = results.index(True)
        assert read_bytes(resolve_target(target(0), options), f"c{trial}") == f"{winner}".encode()


def test_a_lock_is_never_seen_half_written(tmp_path, pool):
    """The old lock was created empty, then filled: a run reading it in between took it for a
    stale lock. One process now reads the lock in a loop while the others race for it."""
    for trial in range(10):
        target = str(tmp_path / f"t{trial}")
        calls = [(racers.take_lock, (target, {}, "b"))] * (RACERS - 1)
        results = pool.race([*calls, (racers.watch, (target, {}, 0.3))])
        found, bad = results[-1]
        assert results[:-1].count(racers.HELD) == 1, results
        assert found > 0 and bad == [], (trial, found, bad)


def test_racing_takeovers_of_one_stale_lock_leave_one_holder(backend, pool):
    kind, target, options = backend
    gone = _dead_pid()
    pool.same(racers.warm, target(0), options)
    for trial in range(TRIALS[kind]):
        loc = resolve_target(target(trial), options)
        stale = dataclasses.replace(LockInfo.current("dead"), pid=gone, token=f"dead{trial}")
        write_bytes(loc, LOCK_FILE, stale.payload())
        results = pool.same(racers.take_lock, target(trial), options, "b")
        assert results.count(racers.HELD) == 1, (trial, results)
        holder = LockInfo.parse(read_bytes(loc, LOCK_FILE))
        assert holder.pid in pool.pids
        assert not _listing(loc, "_lock.takeover"), "a takeover marker was left behind"


def _listing(loc, prefix: str) -> list[str]:
    return [n for n in list_dir(loc, "") if n.startswith(prefix)]


def _lock_uri(loc) -> str:
    return loc.display(f"{loc.root}/{LOCK_FILE}")


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


# ---------------------------------------------------------------------------------------------
# What is stale, what is refused


def _write_lock(loc, **changes) -> LockInfo:
    info = dataclasses.replace(LockInfo.current("other"), token="theirs", **changes)
    write_bytes(loc, LOCK_FILE, info.payload())
    return info


def _holder(target: str) -> subprocess.Popen:
    """A process that holds the lock of `target` until its stdin closes or it is killed."""
    code = (
        "import sys; from ecomlake.lake.fs import resolve_target; "
        "from ecomlake.lake.lock import LakeLock; "
        "LakeLock(resolve_target(sys.argv[1]), 'holder').acquire(); "
        "print('held', flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, target],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_the_lock_of_a_killed_process_is_taken_over(tmp_path, reaped):
    target = str(tmp_path / "lake")
    holder = _holder(target)
    loc = resolve_target(target, {})
    with pytest.raises(TargetLocked, match="another run is writing"):
        LakeLock(loc, "mine").acquire()
    holder.send_signal(signal.SIGKILL)
    if reaped:
        holder.wait()
    else:  # killed, not yet waited for: its pid still shows in /proc, as state Z
        while os.waitid(os.P_PID, holder.pid, os.WEXITED | os.WNOWAIT) is None:
            pass
    with LakeLock(loc, "mine") as lock:
        assert LockInfo.parse(read_bytes(loc, LOCK_FILE)).token == lock.info.token
    assert not (tmp_path / "lake" / LOCK_FILE).exists()


@pytest.mark.parametrize("pid", ["ours", "1"])
def test_a_live_pid_with_another_start_time_is_taken_over(tmp_path, pid, caplog):
    """A reused pid, or pid 1 of a new container: the pid runs, but not the lock's process."""
    loc = resolve_target(str(tmp_path), {})
    number = os.getpid() if pid == "ours" else 1
    started = process_start(number)
    assert started is not None
    _write_lock(loc, pid=number, proc_start=started + 1)
    with LakeLock(loc, "mine"):
        pass
    assert "pid now belongs to another process" in caplog.text


def test_a_rebooted_hosts_lock_is_taken_over(tmp_path, caplog):
    loc = resolve_target(str(tmp_path), {})
    _write_lock(loc, boot_id="another-boot")
    with LakeLock(loc, "mine"):
        pass
    assert "rebooted" in caplog.text


def test_a_live_lock_is_refused_and_kept(tmp_path):
    loc = resolve_target(str(tmp_path), {})
    before = _write_lock(loc)  # this very process, same start time
    with pytest.raises(TargetLocked) as refused:
        LakeLock(loc, "mine").acquire()
    message = str(refused.value)
    assert f"{tmp_path}/{LOCK_FILE}" in message and "\n" not in message
    assert f"batch other, pid {os.getpid()} on {before.host}, since {before.started_at}" in message
    assert LockInfo.parse(read_bytes(loc, LOCK_FILE)) == before


def test_another_hosts_lock_is_refused_even_with_a_dead_pid(tmp_path):
    loc = resolve_target(str(tmp_path), {})
    before = _write_lock(loc, host="elsewhere", pid=_dead_pid())
    with pytest.raises(TargetLocked, match=r"on elsewhere, since .*another host") as refused:
        LakeLock(loc, "mine").acquire()
    assert f"delete {tmp_path}/{LOCK_FILE} if that run is gone" in str(refused.value)
    assert LockInfo.parse(read_bytes(loc, LOCK_FILE)) == before


_WHOLE = {"batch_id": "b", "host": "h", "pid": 1, "started_at": "s", "token": "t"}


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b'{"pid": 1}', b"\xff\xfe",
     json.dumps({**_WHOLE, "pid": "1"}).encode(),
     json.dumps({**_WHOLE, "proc_start": "later"}).encode(),
     json.dumps({**_WHOLE, "token": ""}).encode(),
     json.dumps({**_WHOLE, "token": "../x"}).encode()],
)  # fmt: skip
def test_a_damaged_lock_is_reported_with_its_path_not_taken_over(tmp_path, content):
    loc = resolve_target(str(tmp_path), {})
    write_bytes(loc, LOCK_FILE, content)
    with pytest.raises(TargetLocked, match=f"{tmp_path}/{LOCK_FILE} is damaged"):
        LakeLock(loc, "mine").acquire()
    assert read_bytes(loc, LOCK_FILE) == content


def test_a_takeover_left_by_a_dead_run_is_taken_over_too(tmp_path, caplog):
    """A run killed between winning the takeover marker and replacing the lock left a marker
    that blocked every later run until it was deleted by hand."""
    loc = resolve_target(str(tmp_path), {})
    stale = _write_lock(loc, pid=_dead_pid())
    marker = f"_lock.takeover-{stale.token}.json"
    write_bytes(loc, marker, dataclasses.replace(stale, token="taker").payload())
    lock = LakeLock(loc, "mine")
    lock.acquire()
    assert LockInfo.parse(read_bytes(loc, LOCK_FILE)).token == lock.info.token
    assert _listing(loc, "_lock.takeover") == []
    assert f"taking over {tmp_path}/{marker} of batch other" in caplog.text
    lock.release()


def test_a_takeover_in_progress_is_named(tmp_path):
    """A marker whose run is alive (this process) is that run's, however long it takes."""
    loc = resolve_target(str(tmp_path), {})
    stale = _write_lock(loc, pid=_dead_pid())
    marker = f"_lock.takeover-{stale.token}.json"
    write_bytes(loc, marker, LockInfo.current("taker").payload())
    with pytest.raises(
        TargetLocked, match=f"taking over the stale lock .*delete {tmp_path}/{marker}"
    ):
        LakeLock(loc, "mine").acquire()
    assert read_bytes(loc, LOCK_FILE) == stale.payload()


def test_our_own_lock_found_after_a_lost_reply_is_held(tmp_path):
    """A create whose reply is lost is retried and finds the file: if it holds our token, the
    first try created it."""
    loc = resolve_target(str(tmp_path), {})
    lock = LakeLock(loc, "mine")
    write_bytes(loc, LOCK_FILE, lock.info.payload())
    lock.acquire()
    assert lock.held
    lock.release()
    assert not (tmp_path / LOCK_FILE).exists()


def test_release_removes_only_our_own_lock(tmp_path):
    loc = resolve_target(str(tmp_path), {})
    lock = LakeLock(loc, "mine")
    lock.acquire()
    other = _write_lock(loc)  # replaced by hand while we held it
    lock.release()
    assert LockInfo.parse(read_bytes(loc, LOCK_FILE)) == other


def test_a_lock_of_an_older_version_still_counts(tmp_path):
    loc = resolve_target(str(tmp_path), {})
    old = {"batch_id": "old", "host": os.uname().nodename, "pid": os.getpid(),
           "started_at": "2026-01-01T00:00:00+00:00", "token": "abc"}  # fmt: skip
    write_bytes(loc, LOCK_FILE, json.dumps(old).encode())
    with pytest.raises(TargetLocked, match="batch old"):
        LakeLock(loc, "mine").acquire()


# ---------------------------------------------------------------------------------------------
# CLI


def test_generate_on_a_locked_lake_exits_2_naming_the_lock(tmp_path, capsys):
    target = tmp_path / "lake"
    holder = _holder(str(target))
    try:
        code = run(world_args(str(target)))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "\n" not in err
    assert f"{target}/{LOCK_FILE} is held by batch holder, pid {holder.pid}" in err
    assert not (target / "_lake.json").exists()


def test_generate_on_a_locked_s3_lake_names_the_lock_uri(make_bucket, moto_server, capsys):
    bucket = make_bucket("lock")
    loc = resolve_target(f"s3://{bucket}/lake", s3_options(moto_server))
    _write_lock(loc)
    args = world_args(f"s3://{bucket}/lake")
    for key, value in s3_options(moto_server).items():
        args += ["--storage-option", f"{key}={value}"]
    assert run(args) == 2
    err = capsys.readouterr().err
    assert f"s3://{bucket}/lake/{LOCK_FILE} is held by batch other" in err
