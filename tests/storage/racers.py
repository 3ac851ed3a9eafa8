"""Processes that make their calls at the same instant, trial after trial (lock races).

Spawning a process and importing ecomlake costs about a second, so a pool is started once and
reused: before each call every process waits on one barrier, so each trial is a real race
between processes (no shared GIL, no shared client), and a trial costs only its own requests.
The calls are module-level functions here, so the spawned processes can import them.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from typing import Any

from ecomlake.lake.atomic import create_new
from ecomlake.lake.fs import read_bytes, resolve_target
from ecomlake.lake.lock import LOCK_FILE, LakeLock, LockInfo, TargetLocked

TIMEOUT = 60  # seconds; a trial that takes longer has hung
HELD = "held"

Call = tuple[Callable[..., Any], tuple]


class Racers:
    """`n` spawned processes; `race(calls)` runs calls[i] in process i, all at once."""

    def __init__(self, n: int) -> None:
        ctx = mp.get_context("spawn")
        self.n = n
        self._barrier = ctx.Barrier(n)
        self._inboxes = [ctx.Queue() for _ in range(n)]
        self._results = ctx.Queue()
        self._procs = [
            ctx.Process(target=_serve, args=(i, self._barrier, inbox, self._results), daemon=True)
            for i, inbox in enumerate(self._inboxes)
        ]
        for proc in self._procs:
            proc.start()
        self.same(_ready)  # imports done: the first trial races as tightly as the others

    @property
    def pids(self) -> set[int]:
        return {proc.pid for proc in self._procs}

    def race(self, calls: list[Call]) -> list[Any]:
        """Each process's result (an exception as `Type: message`), in process order."""
        assert len(calls) == self.n
        for inbox, call in zip(self._inboxes, calls, strict=True):
            inbox.put(call)
        results = dict(self._results.get(timeout=TIMEOUT) for _ in range(self.n))
        return [results[i] for i in range(self.n)]

    def same(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        return self.race([(fn, args)] * self.n)

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def _serve(index: int, barrier, inbox, results) -> None:
    while (job := inbox.get()) is not None:
        fn, args = job
        barrier.wait(timeout=TIMEOUT)
        try:
            value = fn(*args)
        except Exception as exc:  # reported to the test, which names the trial
            value = f"{type(exc).__name__}: {exc}"
        results.put((index, value))


def _ready() -> bool:
    return True


def warm(uri: str, options: dict) -> bool:
    """Build this process's client and open a connection before the first timed race."""
    loc = resolve_target(uri, options)
    if not loc.is_local:
        loc.fs.exists(loc.root)
    return True


def create(uri: str, options: dict, rel: str, data: bytes) -> bool:
    return create_new(resolve_target(uri, options), rel, data)


def take_lock(uri: str, options: dict, batch_id: str) -> str:
    """HELD (the lock is kept: each trial uses a target of its own), or the refusal."""
    lock = LakeLock(resolve_target(uri, options), batch_id)
    try:
        lock.acquire()
    except TargetLocked as exc:
        return str(exc)
    return HELD


def watch(uri: str, options: dict, seconds: float) -> tuple[int, list[str]]:
    """Read the lock over and over while others race for it: (reads that found one, reads
    whose content was not a whole lock)."""
    loc = resolve_target(uri, options)
    found, bad = 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = read_bytes(loc, LOCK_FILE)
        except Exception:  # not there yet
            continue
        found += 1
        try:
            LockInfo.parse(data)
        except (TypeError, ValueError):
            bad.append(data.decode(errors="replace"))
    return found, bad
