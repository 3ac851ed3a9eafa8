"""What a lake is (`_lake.json`: seed, config fingerprint, window) and who is writing it
(`_lock.json`), so that a run never mixes another config into a lake or races another run.

Local disks take the lock atomically (O_EXCL); object stores have no such primitive, so there the
lock is written, read back and compared: a best-effort guard documented in docs/storage.md.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import socket
from contextlib import suppress
from dataclasses import asdict, dataclass

import yaml

from ecomlake.config import EcomConfig
from ecomlake.config.load import load_config_text
from ecomlake.errors import ConfigError, EcomlakeError, StorageError
from ecomlake.lake.fs import (
    LakeLocation,
    exists,
    join,
    read_bytes,
    remove,
    remove_tree,
    write_bytes,
)

log = logging.getLogger(__name__)

LAKE_FILE = "_lake.json"
CONFIG_FILE = "_config.yaml"  # the config the lake was made with: verify and repair plan from it
LOCK_FILE = "_lock.json"


@dataclass(frozen=True)
class LakeIdentity:
    """The facts that make two runs' partitions belong to the same lake."""

    seed: int
    config_fingerprint: str
    generator_version: str
    world_start: str
    world_end: str
    messiness: dict | None = None  # a messy lake's level and rates (what verify expects broken)

    def same_world(self, other: LakeIdentity) -> bool:
        return (self.seed, self.config_fingerprint, self.world_start, self.world_end) == (
            other.seed,
            other.config_fingerprint,
            other.world_start,
            other.world_end,
        )


def read_identity(loc: LakeLocation) -> LakeIdentity | None:
    """The lake's identity, or None for a new (or empty) target."""
    if not exists(loc, LAKE_FILE):
        return None
    try:
        return LakeIdentity(**json.loads(read_bytes(loc, LAKE_FILE)))
    except (EcomlakeError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"--target: {join(loc.root, LAKE_FILE)} is unreadable ({exc}); "
            "pass --overwrite to start the lake afresh"
        ) from None


def write_identity(loc: LakeLocation, identity: LakeIdentity) -> None:
    """`_lake.json`; a clean lake's has no `messiness` key (its bytes predate messiness)."""
    body = {k: v for k, v in asdict(identity).items() if k != "messiness" or v is not None}
    write_bytes(loc, LAKE_FILE, (json.dumps(body, indent=2) + "\n").encode())


def write_lake_config(loc: LakeLocation, cfg: EcomConfig) -> None:
    """`_config.yaml`: the run's config with every default filled in, so the lake alone is
    enough to plan it again (its fingerprint is the lake's, tested)."""
    body = cfg.model_dump(by_alias=True, mode="json", exclude_unset=True)
    text = "# the config this lake was generated with (written by ecomlake)\n"
    write_bytes(loc, CONFIG_FILE, (text + yaml.safe_dump(body, sort_keys=False)).encode())


def read_lake_config(loc: LakeLocation) -> EcomConfig | None:
    """The config stored with the lake, or None for a lake that has none (export-raw, older)."""
    if not exists(loc, CONFIG_FILE):
        return None
    text = read_bytes(loc, CONFIG_FILE).decode("utf-8", errors="replace")
    return load_config_text(text, source=join(loc.root, CONFIG_FILE))


def check_compatible(loc: LakeLocation, existing: LakeIdentity, new: LakeIdentity) -> None:
    """Refuse to mix another config, seed or window into an existing lake."""
    if existing.same_world(new):
        return
    hint = ""
    if (existing.seed, existing.config_fingerprint) == (new.seed, new.config_fingerprint):
        hint = " (only the window differs: pin parameters.start_date/end_date to grow a lake)"
    raise ConfigError(
        f"--target: {loc.uri} holds a lake made with another config, seed or window "
        f"(fingerprint {existing.config_fingerprint[:12]}, seed {existing.seed}, "
        f"{existing.world_start}..{existing.world_end}); "
        f"pass --overwrite to replace it, or choose another --target{hint}"
    )


@dataclass(frozen=True)
class LockInfo:
    batch_id: str
    host: str
    pid: int
    started_at: str
    token: str  # tells two runs apart even when they pin the same batch id


class TargetLocked(ConfigError):
    """Another run is writing the same lake."""


class LakeLock:
    """Held for the whole run; a lock left by a dead process on this host is taken over."""

    def __init__(self, loc: LakeLocation, batch_id: str) -> None:
        self.loc = loc
        self.info = LockInfo(
            batch_id=batch_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            token=secrets.token_hex(8),
        )
        self.held = False

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        payload = (json.dumps(asdict(self.info), indent=2) + "\n").encode()
        if self._try_create(payload):
            self.held = True
            return
        other = self._current()
        if other is not None and not _is_dead(other):
            raise TargetLocked(
                f"--target: another run is writing {self.loc.uri} (batch {other.batch_id}, "
                f"pid {other.pid} on {other.host}, since {other.started_at}); wait for it, or "
                f"delete {join(self.loc.root, LOCK_FILE)} if that run is gone"
            )
        log.warning("taking over a stale lock of %s", other or "an unreadable lock file")
        remove(self.loc, LOCK_FILE)
        if not self._try_create(payload):
            raise TargetLocked(f"--target: another run took the lock of {self.loc.uri} just now")
        self.held = True

    def release(self) -> None:
        if self.held:
            current = self._current()
            if current is None or current.token == self.info.token:
                remove(self.loc, LOCK_FILE)
            self.held = False

    def _try_create(self, payload: bytes) -> bool:
        if self.loc.is_local:
            return _create_local(join(self.loc.root, LOCK_FILE), payload)
        if exists(self.loc, LOCK_FILE):
            return False
        write_bytes(self.loc, LOCK_FILE, payload)
        current = self._current()
        return current is not None and current.token == self.info.token

    def _current(self) -> LockInfo | None:
        try:
            return LockInfo(**json.loads(read_bytes(self.loc, LOCK_FILE)))
        except (EcomlakeError, TypeError, ValueError):
            return None


def _create_local(path: str, payload: bytes) -> bool:
    """Create the lock file with `payload` if absent (O_EXCL); False if it exists. A write that
    fails (a full disk) removes the file again: an empty lock would read as a stale one."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise StorageError(f"{path}: write failed ({type(exc).__name__}: {exc})") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
    except OSError as exc:
        with suppress(OSError):
            os.remove(path)
        raise StorageError(f"{path}: write failed ({type(exc).__name__}: {exc})") from exc
    return True


def _is_dead(info: LockInfo) -> bool:
    """True only when the lock's process is known to be gone (same host, no such pid)."""
    if info.host != socket.gethostname():
        return False
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def clear_lake(loc: LakeLocation, tables: list[str]) -> None:
    """Remove the given table folders and the identity file (keeps `_runs/` history)."""
    for table in tables:
        if remove_tree(loc, table):
            log.warning("--overwrite: removed %s", loc.display(join(loc.root, table)))
    remove(loc, LAKE_FILE)
    remove(loc, CONFIG_FILE)
