"""Where verify's DuckDB works: an on-disk database and a spill folder in one temp folder.

The lake's tables are copied once into `<folder>/lake.duckdb`, so the rule queries read
DuckDB's own storage instead of every Parquet file again, and an operator that outgrows
`memory_limit` spills to `<folder>/spill`: memory stays flat however large the lake is. The
folder is removed when the check ends, failed or not; one left by a killed process (its name
carries the pid) is removed by the next verify on the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ecomlake.errors import ConfigError

if TYPE_CHECKING:
    import duckdb

DEFAULT_MEMORY_LIMIT = "512MB"
FOLDER_PREFIX = "ecomlake-verify-"
_FOLDER_RE = re.compile(rf"^{FOLDER_PREFIX}(\d+)-")


@contextmanager
def work_folder(parent: str | None = None) -> Iterator[str]:
    """A fresh temp folder under `parent` (default: $TMPDIR), removed on exit."""
    parent = parent or tempfile.gettempdir()
    remove_stale_folders(parent)
    folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=parent)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_folders(parent: str) -> list[str]:
    """Remove work folders whose process is gone (killed before its cleanup); their names."""
    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        match = _FOLDER_RE.match(name)
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
            removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def open_database(
    folder: str, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> duckdb.DuckDBPyConnection:
    """DuckDB on `<folder>/lake.duckdb`, held to `memory_limit`, spilling to `<folder>/spill`.

    Insertion order is not kept: no rule depends on it, and keeping it stops some operators
    from spilling.
    """
    return _connect(os.path.join(folder, "lake.duckdb"), memory_limit, folder)


def check_memory_limit(memory_limit: str) -> None:
    """Fail with a one-line ConfigError now, not after the manifests, on a limit DuckDB refuses."""
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
        raise ConfigError(
            f"--memory-limit: DuckDB cannot work with {memory_limit!r}, use e.g. 512MB or 2GB "
            f"({str(exc).strip().splitlines()[0]})"
        ) from None
