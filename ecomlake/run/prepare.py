"""The checks every command that writes a lake makes before its first write, written once:
lineage (batch id, ingestion timestamp), the messiness level (one list, resolved once), the
target and the identity of the lake already there. (Hooks: run/hooks.py's `load_hooks`.)

Errors name the options' fields (`GenerateOptions.batch_id: ...`); the CLI shows its flags.
The date options are parsed by run/window.py.
"""

from __future__ import annotations

import datetime as dt

from ecomlake import __version__
from ecomlake.config import EcomConfig
from ecomlake.errors import OptionError
from ecomlake.lake import LakeLocation, resolve_target
from ecomlake.lake.commit import PartitionWrite, RunIdentity
from ecomlake.lake.fs import check_target, is_link, join
from ecomlake.lake.identity import LakeIdentity, check_compatible, read_identity
from ecomlake.lake.runs import RunRecord
from ecomlake.lineage import (
    INGESTION_TS_RULE,
    Lineage,
    default_batch_id,
    default_ingestion_ts,
    is_ingestion_ts,
)
from ecomlake.messiness import MESSINESS_LEVELS, RunLevel, check_level
from ecomlake.tables.detect import lake_tables

MAX_BATCH_ID = 200  # bytes: `<batch_id>.json` must fit a folder entry (255) on every store


def lineage_for(
    owner: str, batch_id: str | None, ingestion_ts: str | None, source_prefix: str | None
) -> Lineage:
    """The batch's lineage; unset values get the defaults (a random batch id, now)."""
    if batch_id is not None and not batch_id.strip():  # not a silent random one
        raise OptionError(
            owner, "{batch_id}: must not be empty (leave it out for a random one)", "batch_id"
        )
    batch_id = batch_id or default_batch_id()
    if not batch_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        rule = f"{{batch_id}}: use letters, digits, '-', '_' or '.', got {batch_id!r}"
        raise OptionError(owner, rule, "batch_id")
    if len(batch_id.encode()) > MAX_BATCH_ID:  # it names the run record `_runs/<batch_id>.json`
        rule = f"{{batch_id}}: at most {MAX_BATCH_ID} characters, got {len(batch_id.encode())}"
        raise OptionError(owner, rule, "batch_id")
    if ingestion_ts is None:
        ingestion_ts = default_ingestion_ts()
    elif not is_ingestion_ts(ingestion_ts):
        raise OptionError(owner, f"{{ingestion_ts}}: {INGESTION_TS_RULE}", "ingestion_ts")
    if source_prefix is not None and not source_prefix.strip():
        rule = "{source_prefix}: must not be empty (leave it out for no source_file column)"
        raise OptionError(owner, rule, "source_prefix")
    return Lineage(batch_id, ingestion_ts, source_prefix)


def level_for(owner: str, cfg: EcomConfig, name: str, warn: bool = True) -> RunLevel:
    """The level `name` with this config's overrides; says once what it will skip (`warn`:
    a command that renders nothing does not)."""
    if name not in MESSINESS_LEVELS:
        rule = f"{{messiness_level}}: must be one of {', '.join(MESSINESS_LEVELS)}, got {name!r}"
        raise OptionError(owner, rule, "messiness_level")
    return RunLevel(name, check_level(cfg, name, warn))


def run_identity(cfg: EcomConfig, seed: int, level: RunLevel) -> RunIdentity:
    """What a run's partitions are reused by: its seed and config, with the level folded in."""
    return RunIdentity(seed, level.fingerprint(cfg), __version__)


def lake_identity(
    run: RunIdentity, start: dt.date | str, end: dt.date | str, messiness: dict | None
) -> LakeIdentity:
    """The identity a run gives a lake of that window (and a messy one's level and rates)."""
    return LakeIdentity(
        run.seed, run.config_fingerprint, run.generator_version, str(start), str(end), messiness
    )


def open_target(target: str, storage_options: dict) -> LakeLocation:
    """The target, probed: credentials, bucket, writable; one line and nothing written."""
    loc = resolve_target(target, storage_options)
    check_target(loc)
    return loc


def check_lake(
    loc: LakeLocation, identity: LakeIdentity, *, overwrite: bool | None
) -> LakeIdentity | None:
    """The identity of the lake already at `loc`, if any; another world there is refused
    unless `overwrite` (None: the command cannot overwrite, so it is not offered)."""
    existing = read_identity(loc, overwrite=overwrite)
    if existing is not None and not overwrite:
        check_compatible(loc, existing, identity, can_overwrite=overwrite is not None)
    linked = [t for t in lake_tables() if is_link(loc, t)]
    if linked and not overwrite:  # --overwrite removes the link, never what it points to
        rule = (
            f"{{target}}: {loc.display(join(loc.root, linked[0]))} is a symbolic link; "
            "a lake is written only inside its own folders (replace the link with a folder)"
        )
        raise OptionError("", rule, "target")
    return existing


def check_lineage_columns(
    owner: str,
    records: list[RunRecord],
    lineage: Lineage,
    days: list[dt.date],
    overwrite: bool | None,
) -> None:
    """Refuse a run that would give some days of a lake a `source_file` column and others none:
    a table (Iceberg, Delta, or a reader taking one file's schema for all) has one schema. An
    --overwrite of every day the lake holds may change it (None: the command cannot
    overwrite, so it is not offered). `records`: the lake's run records, read under its lock."""
    had = {r.write.lineage.source_prefix is not None for r in records if r.write is not None}
    wants = lineage.source_prefix is not None
    if not had or had == {wants}:
        return
    if overwrite and {d for r in records for d in r.days} <= set(days):
        return
    now = "adds a source_file column" if wants else "leaves out the source_file column"
    before = "none" if wants else "one ({source_prefix})"
    rule = (
        f"{{source_prefix}}: this run {now}, but the lake's earlier runs wrote {before}; a "
        "table has one schema: run as before"
    )
    if overwrite is None:
        raise OptionError(owner, rule, "source_prefix")
    rule += ", or {overwrite} every day of the lake"
    raise OptionError(owner, rule, "source_prefix", "overwrite")


def check_batch_reuse(
    owner: str,
    records: list[RunRecord],
    write: PartitionWrite,
    days: list[dt.date],
    overwrite: bool | None,
) -> None:
    """Refuse to reuse a batch id that an earlier run of the lake wrote otherwise. The record
    `_runs/<batch_id>.json` is the batch: a second run of the same id adds its days to it, and
    `--repair` rewrites them all with its one lineage and Parquet options. An --overwrite of
    every day the earlier run wrote replaces it. `records`: as for check_lineage_columns."""
    for record in records:
        if record.batch_id != write.lineage.batch_id or record.write in (None, write):
            continue
        if overwrite and set(record.days) <= set(days):
            continue
        before = record.write
        if before.lineage.ingestion_ts != write.lineage.ingestion_ts:
            what = f"its ingestion_ts was {before.lineage.ingestion_ts}: pin {{ingestion_ts}} to it"
        else:
            what = "it wrote with other Parquet or lineage options: run with them as before"
        rule = (
            f"{{batch_id}}: the lake's run {record.batch_id} wrote {len(record.days)} day(s), and "
            f"a second run of a batch id adds to its record; {what}, or choose another {{batch_id}}"
        )
        raise OptionError(owner, rule, "batch_id", "ingestion_ts")
