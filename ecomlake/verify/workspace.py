"""Where verify's DuckDB works: an on-disk database and a spill folder in one temp folder.

The lake's tables are copied once into `<folder>/lake.duckdb`, so the rule queries read
DuckDB's own storage instead of every Parquet file again, and an operator that outgrows
`memory_limit` spills to `<folder>/spill`: the limit, not the lake, sets the memory. The
folder is removed when the check ends, failed or not; one left by a killed process (no one
holds its lock any more) is removed by the next verify that uses the same temp folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ecomlake.errors import ConfigError, OptionError

if TYPE_CHECKING:
    import duckdb

DEFAULT_MEMORY_LIMIT = "512MB"
FOLDER_PREFIX = "ecomlake-verify-"
_LOCK_NAME = ".lock"


@contextmanager
def work_folder(parent: str | None = None) -> Iterator[str]:
    """A fresh temp folder under `parent` (default: $TMPDIR), removed on exit.

    The folder holds an exclusive lock on its `.lock` file for as long as it is in use; the
    kernel drops the lock when the process dies, however it dies.
    """
    parent = parent or tempfile.gettempdir()
    remove_stale_folders(parent)
    try:
        folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=parent)
    except OSError as exc:
        raise ConfigError(
            f"verify: cannot make its work folder in {parent} (set TMPDIR to a writable folder "
            f"with room for the lake's tables): {exc.strerror or exc}"
        ) from None
    try:
        with open(os.path.join(folder, _LOCK_NAME), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_folders(parent: str) -> list[str]:
    """Remove work folders nobody holds the lock of (their verify was killed); their names."""
    removed = []
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return removed
    for name in names:
        folder = os.path.join(parent, name)
        if name.startswith(FOLDER_PREFIX) and _abandoned(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(name)
    return removed


def _abandoned(folder: str) -> bool:
    """True if `folder`'s lock can be taken: no live process holds it. A folder still without
    a lock file is being created right now and is left alone."""
    try:
        with open(os.path.join(folder, _LOCK_NAME)) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
    except OSError:  # held (BlockingIOError), no lock file yet, or not ours to open
        return False


def open_database(
    folder: str, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> duckdb.DuckDBPyConnection:
    """DuckDB on `<folder>/lake.duckdb`, held to `memory_limit`, spilling to `<folder>/spill`.

    Insertion order is not kept: no rule depends on it, and keeping it stops some operators
    from spilling.
    """
    return _connect(os.path.join(folder, "lake.duckdb"), memory_limit, folder)


def check_memory_limit(memory_limit: str) -> None:
    """Fail with a one-line ConfigError now, not after the manifests, on a limit DuckDB refuses
    (or would take as no limit at all: a negative one)."""
    if str(memory_limit).strip().startswith("-"):
        rule = f"{{memory_limit}}: must not be negative, got {memory_limit!r} (use e.g. 2GB)"
        raise OptionError("", rule, "memory_limit")
    _connect(":memory:", memory_limit, None).close()


def _connect(database: str, memory_limit: str, folder: str | None) -> duckdb.DuckDBPyConnection:
    import duckdb

    config: dict[str, str | bool] = {
        "memory_limit": memory_limit,
        "preserve_insertion_order": False,
    }
    if folder is not None:
        config["temp_directory"] = os.path.join(folder, "spill")
    try:
        return duckdb.connect(database, config=config)
    except duckdb.Error as exc:
        rule = (
            f"{{memory_limit}}: DuckDB cannot work with {memory_limit!r}, use e.g. 512MB or 2GB "
            f"({str(exc).strip().splitlines()[0]})"
        )
        raise OptionError("", rule, "memory_limit") from None
