"""The lake stats reads: its identity, the config to judge it by, its window, and its tables
copied into verify's on-disk, memory-limited DuckDB (verify/workspace.py)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError, OptionError
from ecomlake.lake.fs import LakeLocation, exists, join, resolve_target
from ecomlake.lake.identity import CONFIG_FILE, LAKE_FILE, read_identity, read_lake_config
from ecomlake.lake.lock import live_holder
from ecomlake.lake.manifest import PartitionManifest
from ecomlake.lake.runs import read_run_records
from ecomlake.messiness import level_from_record
from ecomlake.plan.calendar import day_number
from ecomlake.render.registry import TABLE_NAMES, TABLES
from ecomlake.verify import partition_reader
from ecomlake.verify.defects import PARTITION_VALUE, clean_tables
from ecomlake.verify.expected import run_days, stopped_runs
from ecomlake.verify.invariants import load_lake
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT, open_database, work_folder

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LakeSource:
    """What the checks need besides the data: config, seed and the window as day numbers."""

    target: str
    config: EcomConfig
    seed: int
    start: dt.date
    end: dt.date
    messy_level: str | None
    held: tuple[int, ...]  # day numbers of the window the lake's runs wrote

    @property
    def days_held(self) -> int:
        return len(self.held)

    @property
    def window_days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def partial(self) -> bool:
        """The lake holds only some days of its window (e.g. a daily run's)."""
        return self.days_held < self.window_days

    @property
    def start_day(self) -> int:
        return day_number(self.start)

    @property
    def end_day(self) -> int:
        return day_number(self.end)


def describe_lake(
    target: str, config: EcomConfig | None, storage_options: dict | None
) -> LakeSource:
    """The lake's seed and window (`_lake.json`) and `config`, else the config it stores."""
    loc = resolve_target(target, storage_options)
    if not any(exists(loc, name) for name in TABLE_NAMES):
        raise ConfigError(f"target: no lake at {target} (none of its table folders exist)")
    lake = read_identity(loc)
    if lake is None:
        raise ConfigError(
            f"target: {target} has no {LAKE_FILE}, so its seed and window are unknown"
        )
    cfg = config if config is not None else read_lake_config(loc)
    if cfg is None:
        raise OptionError("", f"{{config}}: required, {target} stores no {CONFIG_FILE}", "config")
    holder = live_holder(loc)
    if holder is not None:
        raise ConfigError(
            f"target: {target}: a run is writing this lake ({holder.describe()}), so the days "
            "it has not committed would count as missing sales: run stats when it is done"
        )
    stopped = stopped_runs(read_run_records(loc, lake))
    if stopped:
        run, missing = stopped[0]
        raise ConfigError(
            f"target: {target}: the run {run.batch_id} stopped with {missing} of its days not "
            "done, so its customers and what refers to them are incomplete and every figure "
            "would be off: re-run the generate command that made the lake first"
        )
    level = level_from_record(lake.messiness)
    start, end = (dt.date.fromisoformat(d) for d in (lake.world_start, lake.world_end))
    held = sorted({d for d in run_days(loc, lake) if day_number(start) <= d <= day_number(end)})
    return LakeSource(
        target,
        cfg,
        lake.seed,
        start,
        end,
        level.name if level is not None else None,
        tuple(held),
    )


@contextmanager
def lake_database(
    target: str,
    storage_options: dict | None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    *,
    clean: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Every table of the lake in an on-disk DuckDB held to `memory_limit`, removed on exit;
    `clean`: a messy lake's tables with its defect log undone (KeyError if it cannot be)."""
    import duckdb

    loc = resolve_target(target, storage_options)
    with work_folder() as folder:
        con = open_database(folder, memory_limit)
        try:
            try:
                load_lake(con, loc, folder, "TABLE")
            except (duckdb.Error, OSError) as exc:
                reason = str(exc).strip().splitlines()[0]
                raise ConfigError(f"stats: cannot read {target}: {reason}") from None
            committed = {t: partition_reader.committed_partitions(loc, t) for t in TABLE_NAMES}
            _drop_uncommitted(con, loc, committed)
            pending = late_lines_pending(committed["cart_items"]) if clean else []
            if clean:
                _replace_with_clean_rows(con, target, storage_options)
            con.register("_pending", pa.table({"day": pa.array(pending, pa.string())}))
            con.execute(f"CREATE TEMP TABLE {PENDING_DAYS} AS SELECT * FROM _pending").fetchall()
            con.unregister("_pending")
            yield con
        finally:
            con.close()


PENDING_DAYS = "_late_lines_pending"  # (day): carts whose late lines land after the lake


def late_lines_pending(cart_items: dict[str, PartitionManifest]) -> list[str]:
    """The cart days of a messy lake (its committed `cart_items` partitions) some of whose
    lines arrive late on a day the lake does not hold (its newest days, always, for a daily
    lake): their carts lack those lines even with the log undone, so they cannot be judged for
    size."""
    return sorted(
        day
        for day, manifest in cart_items.items()
        if any(late not in cart_items for late in (manifest.messiness or {}).get("late_out") or {})
    )


def _drop_uncommitted(
    con: duckdb.DuckDBPyConnection,
    loc: LakeLocation,
    committed: dict[str, dict[str, PartitionManifest]],
) -> None:
    """Leave out the rows of files no committed partition lists (a partition without
    `_SUCCESS`, a stray copy beside the listed parts), as a reader that honours the commit
    protocol would; warn how many files, since verify fails them."""
    listed = [
        join(loc.root, f.path)
        for parts in committed.values()
        for m in parts.values()
        for f in m.files
    ]
    con.register("_listed", pa.table({"path": pa.array(listed, pa.string())}))
    con.execute("CREATE TEMP TABLE _listed_files AS SELECT * FROM _listed").fetchall()
    con.unregister("_listed")
    left_out = 0
    for spec in TABLES:
        (count,) = con.execute(
            f"SELECT count(DISTINCT _file) FROM {spec.name} "
            "WHERE _file NOT IN (SELECT path FROM _listed_files)"
        ).fetchone()
        if count:
            left_out += count
            con.execute(
                f"DELETE FROM {spec.name} WHERE _file NOT IN (SELECT path FROM _listed_files)"
            ).fetchall()
    con.execute("DROP TABLE _listed_files").fetchall()
    if left_out:
        log.warning(
            "stats: left out %d file(s) that no committed partition lists (no _SUCCESS, or "
            "not in its manifest); `ecomlake verify` names them",
            left_out,
        )


def _replace_with_clean_rows(
    con: duckdb.DuckDBPyConnection, target: str, storage_options: dict | None
) -> None:
    """Swap each table for its clean truth (verify --against-defects undoes the same log),
    loaded partition by partition."""
    replaced: set[str] = set()
    for name, rows in clean_tables(target, storage_options):
        con.register("_clean", rows)
        select = (
            f"SELECT * EXCLUDE ({PARTITION_VALUE}), {PARTITION_VALUE} AS _part_value FROM _clean"
        )
        if name in replaced:
            con.execute(f"INSERT INTO {name} {select}")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")
            replaced.add(name)
        con.unregister("_clean")
