"""The lake the plan says is there: every partition of the lake's days, with its rows.

The plan is a pure function of (config, seed, window): the config is `--config` or the lake's
`_config.yaml` (its fingerprint must be the lake's), seed and window come from `_lake.json`, and
the lake's days are those its runs were given (`_runs/*.json`). Partitions missing, extra or
with other row counts than planned are failures; ids the plan dates on other days are "outside
this lake" (`outside_ranges`), so a clean lake of any days verifies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecomlake.config import EcomConfig
from ecomlake.config.fingerprint import config_fingerprint
from ecomlake.errors import OptionError, StorageError
from ecomlake.lake.fs import LakeLocation, exists, join, list_dir, read_bytes
from ecomlake.lake.identity import CONFIG_FILE, LAKE_FILE, LakeIdentity, read_lake_config
from ecomlake.lake.layout import MANIFEST_NAME, SUCCESS_NAME
from ecomlake.lake.manifest import PartitionManifest
from ecomlake.lake.runs import RUNS_DIR, RunRecord, read_run_records
from ecomlake.messiness import level_from_record
from ecomlake.messiness.late import days_late
from ecomlake.messiness.levels import MessLevel, fold_level
from ecomlake.plan.cache import default_cache_dir, load_or_build_world
from ecomlake.plan.calendar import day_date, day_number
from ecomlake.plan.memory import catalog_too_big, plan_too_big
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.extent import Partition, day_contexts, partition_rows
from ecomlake.render.registry import INGEST_KEY, TABLES, TableSpec, output_columns
from ecomlake.verify.invariants import Violation

log = logging.getLogger(__name__)

_READERS = 16  # manifests read at once
RULES = {
    "missing_partition": "every partition the plan gives the lake's days is committed",
    "unexpected_partition": "every partition is one the plan gives the lake's days",
    "row_count": "a partition's rows (a messy one's clean rows) = the plan's",
}
OUTSIDE_SCHEMA = pa.schema(
    [
        ("parent", pa.string()),
        ("first_seq", pa.int64()),
        ("last_seq", pa.int64()),
        ("first_day", pa.date32()),
        ("last_day", pa.date32()),
    ]
)
# The plan's time-sorted slices of each sequence-id parent (ids are position + 1).
_SLICES = {
    "shopping_carts": WorldPlan.carts_on,
    "orders": WorldPlan.orders_on,
    "returns": WorldPlan.returns_on,
}


@dataclass
class PlannedLake:
    """The plan of a lake's world, the days the lake holds and their partitions' rows."""

    world: WorldPlan
    days: list[int]
    partitions: dict[Partition, int]
    level: MessLevel | None

    def tables(self, among: Collection[str]) -> set[str]:
        """Those of `among` that the plan gives a partition on the lake's days."""
        return {table for table, _ in self.partitions} & set(among)

    def __str__(self) -> str:
        first, last = day_date(self.days[0]), day_date(self.days[-1])
        span = str(first) if first == last else f"{first}..{last}"
        return f"{len(self.partitions)} partitions of {len(self.days)} day(s) in {span}"


def plan_lake(
    loc: LakeLocation, lake: LakeIdentity | None, config: EcomConfig | None
) -> tuple[PlannedLake | None, str]:
    """The planned lake, or None and why it cannot be planned (then verify skips its checks).

    Raises ConfigError when the config is not the one the lake was made with.
    """
    if lake is None:
        return None, f"the lake has no {LAKE_FILE}, so its seed and window are unknown"
    cfg = config if config is not None else read_lake_config(loc)
    if cfg is None:
        return None, (
            f"no config: the lake has no {CONFIG_FILE} (made by an older ecomlake, or exported "
            "from a run dir without one) and no --config was given"
        )
    level = level_from_record(lake.messiness)
    mine = fold_level(config_fingerprint(cfg), level)
    if mine != lake.config_fingerprint:
        said = f"(fingerprint {mine[:12]}, {LAKE_FILE} says {lake.config_fingerprint[:12]})"
        if config is not None:
            rule = f"{{config}}: not the config this lake was made with {said}; pass its own"
        else:  # both are the lake's files: either may be what changed
            rule = (
                f"{join(loc.root, CONFIG_FILE)} and the messiness entry of "
                f"{join(loc.root, LAKE_FILE)} do not make the fingerprint the lake was made with "
                f"{said}: one of them was edited; restore it, or pass the lake's config with "
                "{config}"
            )
        raise OptionError("", rule, "config")
    days = run_days(loc, lake)
    if not days:
        return None, (
            f"no run record under {RUNS_DIR}/ lists a day (an export-raw of some tables or "
            "dates lists none)"
        )
    too_big = plan_too_big(cfg) or catalog_too_big(cfg)
    if too_big is not None:
        return None, too_big
    world, cached = load_or_build_world(
        cfg,
        lake.seed,
        day_number(dt.date.fromisoformat(lake.world_start)),
        day_number(dt.date.fromisoformat(lake.world_end)),
        default_cache_dir(),
    )
    log.info("verify: %s the lake's world plan", "loaded" if cached else "built")
    partitions: dict[Partition, int] = {}
    for ctx in day_contexts(world, days):
        partitions.update(partition_rows(ctx))
    return PlannedLake(world, days, partitions, level), ""


def run_days(loc: LakeLocation, lake: LakeIdentity) -> list[int]:
    """Day numbers the lake's runs were given (committed or failed: a failed day's partitions
    are then missing, and re-running it fixes them), sorted. Without a readable run record
    (`lake_file_violations` reports that), the days its ingest partitions are for."""
    records = read_run_records(loc, lake)
    if records:
        return sorted({day_number(d) for r in records for d in (*r.days, *r.failed)})
    return sorted({day_number(d) for d in stored_ingest_days(loc)})


def stored_ingest_days(loc: LakeLocation) -> set[dt.date]:
    """The days the ingest-partitioned tables have a partition folder for."""
    days = set()
    for spec in TABLES:
        if spec.partition_key != INGEST_KEY:
            continue
        for name in list_dir(loc, spec.name):
            key, _, value = name.partition("=")
            with contextlib.suppress(ValueError):
                if key == INGEST_KEY:
                    days.add(dt.date.fromisoformat(value))
    return days


def lake_file_violations(loc: LakeLocation, lake: LakeIdentity | None) -> list[Violation]:
    """`_lake.json` and `_runs/` are part of the lake: without them its days are unknown, so a
    day deleted whole would pass. A re-run of the command that made the lake writes them again
    and keeps every committed partition."""
    again = (
        "re-run the generate command that made the lake (it keeps committed partitions), or "
        "the export-raw or upload-raw that wrote it"
    )
    if lake is None:
        why = f"the lake has tables but no {LAKE_FILE}: its seed, config and window are unknown"
        return [Violation("lake.identity_missing", f"{why}; {again}", 1)]
    unreadable: list[str] = []
    records = read_run_records(loc, lake, unreadable)
    found = []
    if unreadable:
        rule = f"every run record under {RUNS_DIR}/ is readable (move a damaged one aside)"
        found.append(
            Violation.of("lake.run_record_unreadable", rule, len(unreadable), unreadable, "file(s)")
        )
    if not records:
        why = (
            f"no readable run record of this lake under {RUNS_DIR}/: the days it should hold "
            "are unknown (those its partitions are for are checked; a day deleted whole is not)"
        )
        found.append(Violation("lake.run_records_missing", f"{why}; {again}", 1))
    else:
        if any(r.days for r in records) and not exists(loc, CONFIG_FILE):
            why = (
                f"the lake has no {CONFIG_FILE}, which every run that recorded its days wrote "
                "(verify and --repair plan the lake from it; --config only stands in for it)"
            )
            found.append(Violation("lake.config_missing", f"{why}; {again}", 1))
        for run, missing in stopped_runs(records):
            why = (
                f"the run {run.batch_id} stopped after {len(run.days)} of its {run.planned} "
                f"day(s), and {missing} of the days it left are in no run since: the customers "
                "it spread over all of them, and what refers to them, are incomplete until "
                "they are done"
            )
            found.append(Violation("lake.run_unfinished", f"{why}; {again}", 1))
    return found


def stopped_runs(records: list[RunRecord]) -> list[tuple[RunRecord, int]]:
    """Each stopped run with the number of days it left that no run of the lake committed
    since: the customers it spread over all its days, and what refers to them, stay incomplete
    until those are done. A later run of other days does not finish it (a nightly run after a
    stopped backfill). An older record names no days: only the last run counts then."""
    committed = {day for r in records for day in r.days}
    found = []
    for run in records:
        if not run.unfinished:
            continue
        if run.left is not None:
            missing = len(set(run.left) - committed)
        elif run is records[-1]:
            missing = run.planned - len(run.days) - len(run.failed)
        else:
            continue
        if missing:
            found.append((run, missing))
    return found


def check_expected(loc: LakeLocation, planned: PlannedLake) -> list[Violation]:
    """Partitions missing, unexpected or with other row counts than the plan's."""
    problems: dict[str, list[str]] = defaultdict(list)
    lake_days = {day_date(d).isoformat() for d in planned.days}
    to_read: list[tuple[str, int]] = []  # present partitions the plan expects, and their rows
    for spec in TABLES:
        expected = {v: n for (t, v), n in planned.partitions.items() if t == spec.name}
        present = {p.split("=", 1)[1] for p in list_dir(loc, spec.name) if "=" in p}
        for value in sorted(expected.keys() | present):
            where = f"{spec.name}/{spec.partition_key}={value}"
            planned_rows = expected.get(value)
            if planned_rows is None and _may_land_late(spec, planned, value, lake_days):
                planned_rows = 0  # only late rows of earlier days landed there
            if planned_rows is None:
                problems["unexpected_partition"].append(where)
            elif value in present:
                to_read.append((where, planned_rows))
            elif not _all_rows_late(spec, planned, value):  # the plan lists no empty partition
                problems["missing_partition"].append(where)
    with ThreadPoolExecutor(max_workers=_READERS) as pool:  # object stores: one round trip each
        found = pool.map(lambda item: _committed_rows(loc, item[0]), to_read)
        for (where, planned_rows), rows in zip(to_read, found, strict=True):
            if rows is None:
                problems["missing_partition"].append(f"{where} (not committed)")
            elif rows >= 0 and rows != planned_rows:
                problems["row_count"].append(f"{where} ({rows} rows, planned {planned_rows})")
    return [
        Violation.of(f"expected.{rule}", RULES[rule], len(where), where, "partition(s)")
        for rule, where in problems.items()
    ]


def _committed_rows(loc: LakeLocation, where: str) -> int | None:
    """A committed partition's clean rows; None if it is not committed, -1 if its manifest is
    unreadable (manifests.manifest_invalid reports that)."""
    names = list_dir(loc, where)
    if SUCCESS_NAME not in names or MANIFEST_NAME not in names:
        return None
    try:
        return _clean_rows(PartitionManifest.from_json(read_bytes(loc, f"{where}/{MANIFEST_NAME}")))
    except (StorageError, TypeError, ValueError):  # e.g. a hand-edited clean_rows
        return -1


def _clean_rows(manifest: PartitionManifest) -> int:
    """The partition's rows before defects: a messy manifest records them, a clean one's are all."""
    truth = manifest.messiness or {}
    return int(truth.get("clean_rows", manifest.total_rows))


def _late(spec: TableSpec, planned: PlannedLake) -> bool:
    level = planned.level
    return level is not None and level.late_arrival > 0 and spec.partition_column is None


def _may_land_late(spec: TableSpec, planned: PlannedLake, value: str, lake_days: set[str]) -> bool:
    """A messy lake's day with no rows of its own may still hold late rows of earlier days."""
    return _late(spec, planned) and value in lake_days


def _all_rows_late(spec: TableSpec, planned: PlannedLake, value: str) -> bool:
    """Whether every row of a messy day arrives on later days, leaving it no partition: known
    only from the rows' keys, so that one day's table is rendered (rare, and cheap)."""
    if not _late(spec, planned):
        return False
    ctx = DayContext(planned.world, day_number(dt.date.fromisoformat(value)))
    clean = spec.render(ctx).select(list(output_columns(planned.world.config, spec)))
    return bool((days_late(ctx, spec, clean, planned.level) > 0).all())


def outside_ranges(planned: PlannedLake) -> pa.Table:
    """Id ranges (`first_seq`..`last_seq`) of each sequence-id parent that the plan dates on
    days the lake does not hold, one row per run of such days (`first_day`..`last_day`)."""
    world = planned.world
    days = np.arange(world.start_day, world.end_day + 1)
    edges = np.diff(np.concatenate([[0], ~np.isin(days, planned.days), [0]]).astype(np.int8))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # [start, stop)
    gaps = zip(days[starts], days[stops - 1], strict=True)
    rows = []
    for first, last in gaps:
        for parent, slices in _SLICES.items():
            lo, hi = slices(world, int(first)).start, slices(world, int(last)).stop
            if hi > lo:
                rows.append((parent, lo + 1, hi, day_date(int(first)), day_date(int(last))))
    names = OUTSIDE_SCHEMA.names
    return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows], OUTSIDE_SCHEMA)
