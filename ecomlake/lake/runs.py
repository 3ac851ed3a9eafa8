"""The lake's run records (`_runs/<batch_id>.json`): which days each run was given, what it
committed and how it wrote it. `verify` takes the lake's days from them and `--repair` the
partitions and their lineage; only records of the lake's own seed, config and window count
(`_runs/` keeps its history across `--overwrite`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from ecomlake.errors import EcomlakeError
from ecomlake.lake.commit import PartitionWrite
from ecomlake.lake.fs import LakeLocation, join, list_dir, read_bytes
from ecomlake.lake.identity import LakeIdentity

log = logging.getLogger(__name__)

RUNS_DIR = "_runs"


@dataclass(frozen=True)
class RunRecord:
    """What a run record says a run did, and how it wrote its partitions."""

    batch_id: str
    finished_at: str
    days: tuple[dt.date, ...]  # the days it committed
    failed: tuple[dt.date, ...]  # the days it was given and could not commit
    partitions: frozenset[str]  # `table/key=value` it wrote; empty in older records
    kept: frozenset[str]  # those it found committed already (written by an earlier run)
    write: PartitionWrite | None  # None in records older than their writer options
    table_format: str | None = None  # "iceberg" or "delta" when the run kept tables
    planned: int = 0  # the days it was given; 0 in older records
    left: tuple[dt.date, ...] | None = None  # given, neither committed nor failed; None: older
    committed_on: tuple[tuple[dt.date, frozenset[str]], ...] = ()  # each day's own partitions

    @property
    def unfinished(self) -> bool:
        """Stopped before it did every day it was given (interrupted, or an error ended it)."""
        return len(self.days) + len(self.failed) < self.planned


def run_record_path(batch_id: str) -> str:
    """Where the run of `batch_id` is recorded, relative to the lake root."""
    return f"{RUNS_DIR}/{batch_id}.json"


_WARNED: set[str] = set()  # the unreadable records this process has warned of


def read_run_records(
    loc: LakeLocation, lake: LakeIdentity, unreadable: list[str] | None = None
) -> list[RunRecord]:
    """The lake's run records for its own seed, config and window, oldest first; an unreadable
    one is skipped with a warning (it only narrows what verify and repair know) and its path,
    with why, added to `unreadable` (verify reports it)."""
    records = []
    for name in list_dir(loc, RUNS_DIR):
        if not name.endswith(".json"):
            continue
        try:
            body = json.loads(read_bytes(loc, f"{RUNS_DIR}/{name}"))
            world = body["world"]
            same = (body["seed"], body["config_fingerprint"], world["start"], world["end"]) == (
                lake.seed,
                lake.config_fingerprint,
                lake.world_start,
                lake.world_end,
            )
            record = _record(body)
        except (EcomlakeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            where = loc.display(join(loc.root, f"{RUNS_DIR}/{name}"))
            if where not in _WARNED:  # verify reads the records three times: said once
                _WARNED.add(where)
                log.warning("skipping unreadable run record %s/%s (%s)", RUNS_DIR, name, exc)
            if unreadable is not None:
                unreadable.append(f"{RUNS_DIR}/{name} ({exc})")
            continue
        if same:
            records.append(record)
    return sorted(records, key=lambda r: (r.finished_at, r.batch_id))


def _record(body: dict) -> RunRecord:
    days = body["days"]
    write = body.get("write")
    return RunRecord(
        batch_id=body["batch_id"],
        finished_at=body.get("finished_at") or "",
        days=tuple(dt.date.fromisoformat(d["day"]) for d in days),
        # a failure of no one day (a table commit, an error that stopped the run) has day ""
        failed=tuple(dt.date.fromisoformat(f["day"]) for f in body["failures"] if f["day"]),
        partitions=frozenset(p for d in days for p in d.get("committed", ()))
        | frozenset(body.get("committed", ())),  # an export's, whether or not days list them
        kept=frozenset(p for d in days for p in d.get("kept", ())),
        write=(
            None
            if write is None
            else PartitionWrite.from_record(body["batch_id"], body["ingestion_ts"], write)
        ),
        table_format=(body.get("tables") or {}).get("format"),
        planned=int(body.get("days_planned") or 0),
        left=(
            None
            if "days_left" not in body
            else tuple(dt.date.fromisoformat(d) for d in body["days_left"])
        ),
        committed_on=tuple(
            (dt.date.fromisoformat(d["day"]), frozenset(d.get("committed", ()))) for d in days
        ),
    )


def merge_run_record(body: dict, earlier: bytes) -> dict:
    """`body`, the record of a run, with the days an earlier run of the same batch id did and
    this one did not: a nightly run with a pinned batch id keeps the backfill's days in the
    record (it replaced them, and verify then failed every other day as unexpected). An
    unreadable earlier record, or one of another world (the lake was overwritten with another
    config, seed or window since), is replaced, as before."""
    try:
        old = json.loads(earlier)
        old_days, old_failures = list(old["days"]), list(old["failures"])
        old_left = set(old.get("days_left") or ())
        same = _world_of(old) == _world_of(body)
    except (ValueError, KeyError, TypeError, AttributeError):
        return body
    if not same:
        return body
    redone = {d["day"] for d in body["days"]} | {f["day"] for f in body["failures"] if f["day"]}
    days = sorted(
        [d for d in old_days if d.get("day") not in redone] + body["days"], key=lambda d: d["day"]
    )
    failures = [f for f in old_failures if f.get("day") and f["day"] not in redone]
    failures += body["failures"]
    left = sorted((old_left - redone) | set(body.get("days_left") or ()))
    rows: dict[str, int] = {}
    for day in days:
        for table, count in (day.get("rows") or {}).items():
            rows[table] = rows.get(table, 0) + count
    failed = {f["day"] for f in failures if f["day"]}
    return {
        **body,
        "days": days,
        "failures": failures,
        "days_left": left,
        "days_planned": len(days) + len(failed) + len(left),
        "rows": rows,
        "ok": bool(body["ok"]) and not failures and not left,
    }


def _world_of(body: dict) -> tuple:
    """What makes a record's days days of one lake: seed, config and window."""
    return (body["seed"], body["config_fingerprint"], body["world"]["start"], body["world"]["end"])
