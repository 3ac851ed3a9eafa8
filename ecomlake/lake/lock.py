"""`_lock.json`: one run at a time writes a lake, on local disk, S3 and GCS alike.

The lock is created with its whole content in one step (`atomic.create_new`): of runs starting
together exactly one holds it, and no run ever reads a half-written lock. It records enough to
tell, on the same host, whether its writer still runs: pid, that process's start time (a reused
pid, or pid 1 of a new container, started at another time) and the kernel's boot id (a reboot
ends every run). A lock of another host is not judged: only the user can tell whether that run
is gone, or a `generate --lock-expiry-hours` that holds any lock older than that stale. Taking
over a stale lock is itself a create-if-absent race (see `LakeLock._take_over`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import secrets
import socket
from dataclasses import asdict, dataclass

from ecomlake.errors import OptionError, StorageError
from ecomlake.lake.atomic import create_new
from ecomlake.lake.fs import LakeLocation, exists, join, read_bytes, remove

log = logging.getLogger(__name__)

LOCK_FILE = "_lock.json"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ATTEMPTS = 3  # a lock can change hands under us (released, taken over); then we look again


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock; `boot_id` and `proc_start` are None in locks of older versions."""

    batch_id: str
    host: str
    pid: int
    started_at: str
    token: str  # tells two runs apart even when they pin the same batch id
    boot_id: str | None = None
    proc_start: int | None = None  # clock ticks after boot (/proc/<pid>/stat, field 22)

    @classmethod
    def current(cls, batch_id: str) -> LockInfo:
        """This process, now."""
        pid = os.getpid()
        return cls(
            batch_id=batch_id,
            host=socket.gethostname(),
            pid=pid,
            started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            token=secrets.token_hex(8),
            boot_id=boot_id(),
            proc_start=process_start(pid),
        )

    @classmethod
    def parse(cls, data: bytes) -> LockInfo:
        """A lock file's content; ValueError says what is wrong with it."""
        body = json.loads(data)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        info = cls(**{k: v for k, v in body.items() if k in known})
        texts = (info.batch_id, info.host, info.started_at, info.token, info.boot_id or "-")
        numbers = (info.pid, 0 if info.proc_start is None else info.proc_start)
        if not all(isinstance(t, str) and t for t in texts) or any(
            type(n) is not int for n in numbers
        ):
            raise ValueError("a field is missing, empty or of the wrong type")
        if not _TOKEN.fullmatch(info.token):  # it names the takeover marker's file
            raise ValueError(f"token {info.token!r} is not [A-Za-z0-9_-]")
        return info

    def payload(self) -> bytes:
        return (json.dumps(asdict(self), indent=2) + "\n").encode()

    def describe(self) -> str:
        return f"batch {self.batch_id}, pid {self.pid} on {self.host}, since {self.started_at}"


class TargetLocked(OptionError):
    """Another run is writing the same lake (or its lock cannot be judged)."""

    @classmethod
    def because(cls, rule: str) -> TargetLocked:
        """Refused for `rule`, about the target whichever command (or caller) named it."""
        return cls("", "{target}: " + rule, "target")


def boot_id() -> str | None:
    """The kernel's id of this boot (Linux; shared by every container on the host)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def process_start(pid: int) -> int | None:
    """When `pid` started, in clock ticks after boot; None if no such process runs (a zombie
    has exited) or /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat.rsplit(b")", 1)[-1].split()  # the command name before ')' may hold spaces
    if len(fields) < 20 or fields[0] == b"Z":
        return None
    return int(fields[19])


def stale_reason(info: LockInfo) -> str | None:
    """Why the lock's writer is known to be gone, or None while it may still be running."""
    if info.host != socket.gethostname():
        return None
    boot = boot_id()
    if info.boot_id and boot and info.boot_id != boot:
        return "its host has rebooted since"
    if not os.path.isdir("/proc/self"):  # no /proc: only ask whether the pid exists
        return None if _pid_exists(info.pid) else "its process is gone"
    start = process_start(info.pid)
    if start is None:
        return "its process is gone"
    if info.proc_start is not None and start != info.proc_start:
        return "its pid now belongs to another process"
    return None


def expired_reason(info: LockInfo, expiry_hours: float | None) -> str | None:
    """Why a lock, of any host, is taken over as too old (`expiry_hours` after it was taken),
    or None: a scheduled run whose last run crashed on a host that is gone (a nightly job's
    pod) would be refused for ever otherwise. Hours, so clocks a few minutes apart agree."""
    if expiry_hours is None:
        return None
    try:
        taken = dt.datetime.fromisoformat(info.started_at)
    except ValueError:
        return None
    if taken.tzinfo is None:
        return None
    hours = (dt.datetime.now(dt.UTC) - taken).total_seconds() / 3600
    if hours <= expiry_hours:
        return None
    return f"it was taken {hours:,.1f} h ago, more than the {expiry_hours:g} h a lock is held"


def live_holder(loc: LakeLocation) -> LockInfo | None:
    """The run holding the lake's lock while it may still be writing (for readers such as
    verify, which take no lock); None when there is no lock, or a stale or damaged one."""
    if not exists(loc, LOCK_FILE):
        return None
    try:
        info = LockInfo.parse(read_bytes(loc, LOCK_FILE))
    except (StorageError, TypeError, ValueError):  # gone since, or damaged: nobody to name
        return None
    return info if stale_reason(info) is None else None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class LakeLock:
    """Held for the whole run: `with LakeLock(loc, batch_id): ...`."""

    def __init__(self, loc: LakeLocation, batch_id: str, expiry_hours: float | None = None) -> None:
        self.loc = loc
        self.info = LockInfo.current(batch_id)
        self.expiry_hours = expiry_hours  # a lock older than this is stale whoever holds it
        self.held = False

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _uri(self, rel: str) -> str:
        return self.loc.display(join(self.loc.root, rel))

    def acquire(self) -> None:
        """Take the lock, or raise TargetLocked naming the lock file and its holder."""
        for _ in range(_ATTEMPTS):
            if create_new(self.loc, LOCK_FILE, self.info.payload()):
                break
            holder = self._read(LOCK_FILE)
            if holder is None:
                continue  # released after our create failed: race for it again
            if holder.token == self.info.token:
                break  # our own create: its reply was lost and the retry found the file
            reason = self._stale(holder)
            if reason is None:
                raise TargetLocked.because(self._refusal(holder))
            self._take_over(holder, reason)
        else:
            raise TargetLocked.because(
                f"{self._uri(LOCK_FILE)} changed hands {_ATTEMPTS} times while this "
                "run tried to take it; try again"
            )
        self.held = True

    def _stale(self, holder: LockInfo) -> str | None:
        """Why a lock (or a takeover marker) may be taken over, or None."""
        return stale_reason(holder) or expired_reason(holder, self.expiry_hours)

    def _refusal(self, holder: LockInfo) -> str:
        lock = self._uri(LOCK_FILE)
        other = holder.host != self.info.host
        where = (
            " (another host: this run cannot check it; a scheduled generate can take such a "
            "lock over once it is old, with --lock-expiry-hours)"
            if other
            else ""
        )
        return (
            f"another run is writing {self.loc.uri}: {lock} is held by "
            f"{holder.describe()}{where}; wait for it, or delete {lock} if that run is gone"
        )

    def _take_over(self, stale: LockInfo, reason: str, rel: str = LOCK_FILE) -> None:
        """Remove a stale lock (or a stale takeover marker, `rel`), so the next create can race
        for it. Only the run that creates the marker named after the stale holder's token may
        remove it, and only if it is still that one: two runs that judged the same lock stale
        never both remove a lock. A marker whose own run is gone (killed in its few requests)
        is taken over the same way, one marker deeper."""
        marker = f"_lock.takeover-{stale.token}.json"
        if not create_new(self.loc, marker, self.info.payload()):
            taker = self._read(marker)
            if taker is None:
                return  # that takeover has just finished: look at the lock again
            if taker.token != self.info.token:
                why = self._stale(taker)
                if why is None:
                    raise TargetLocked.because(
                        f"another run ({taker.describe()}) is taking over the stale lock "
                        f"{self._uri(LOCK_FILE)} just now; if that run is gone, delete "
                        f"{self._uri(marker)}"
                    )
                self._take_over(taker, why, marker)
                return  # the dead run's marker is gone: look at the lock again
        try:
            if self._read(rel) == stale:
                log.warning("taking over %s of %s: %s", self._uri(rel), stale.describe(), reason)
                remove(self.loc, rel)
        finally:
            remove(self.loc, marker)

    def release(self) -> None:
        """Remove the lock if it is still ours."""
        if not self.held:
            return
        self.held = False
        try:
            current = self._read(LOCK_FILE)
        except TargetLocked as exc:  # damaged since we took it: not ours to remove
            log.warning("%s", exc)
            return
        if current is not None and current.token == self.info.token:
            remove(self.loc, LOCK_FILE)

    def _read(self, rel: str) -> LockInfo | None:
        """The lock (or marker) at `rel`, None if there is none; a damaged one is refused."""
        try:
            data = read_bytes(self.loc, rel)
        except StorageError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                return None
            raise
        try:
            return LockInfo.parse(data)
        except (TypeError, ValueError) as exc:
            raise TargetLocked.because(
                f"{self._uri(rel)} is damaged ({type(exc).__name__}: {exc}); "
                f"delete it if no run is writing {self.loc.uri}"
            ) from None
