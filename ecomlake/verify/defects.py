"""`verify --against-defects`: undo a messy lake's defect log and compare with the clean truth.

Each messy data partition's manifest records the digest of its clean rows (ecomlake.messiness
.truth). Per table, every committed partition is read, the logged copies are dropped, the logged
cells restored and late rows returned to the day they belong to; then each partition's rows must
have its clean digest and row count, and its logged defect counts must match its manifest.
A partition whose late rows landed in a partition the lake lacks cannot be put back together
and is counted as not checkable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ecomlake.errors import ConfigError
from ecomlake.lake.fs import LakeLocation, list_dir, read_bytes, resolve_target
from ecomlake.lake.identity import read_identity
from ecomlake.lake.layout import MANIFEST_NAME, SUCCESS_NAME
from ecomlake.lake.manifest import PartitionManifest
from ecomlake.lineage import LINEAGE_COLUMNS
from ecomlake.messiness import undo_defects
from ecomlake.messiness.log import DEFECT_SCHEMA, defect_counts, defect_log_tables, pk_text
from ecomlake.messiness.registry import LATE_DEFECT
from ecomlake.messiness.truth import digest, row_hashes
from ecomlake.render.registry import TABLES, TableSpec
from ecomlake.verify.invariants import Violation

_PART = "_partition_value"


@dataclass
class DefectCheck:
    """What undoing the log found: problems, partitions that matched, and those not checkable."""

    violations: list[Violation] = field(default_factory=list)
    matched: int = 0
    unchecked: list[str] = field(default_factory=list)


def check_against_defects(root: str, storage_options: dict | None = None) -> DefectCheck:
    """Undo every logged defect of the lake at `root` and compare each partition with its truth."""
    loc = resolve_target(root, storage_options)
    lake = read_identity(loc)
    if lake is None or lake.messiness is None:
        raise ConfigError(
            f"--against-defects: {root} is not a messy lake (its _lake.json names no messiness "
            "level), so there is no defect log to undo"
        )
    log = _read_log(loc)
    found = DefectCheck()
    problems: dict[str, list[str]] = {}
    for spec in TABLES:
        parts = _read_partitions(loc, spec.name)
        if parts:
            _check_table(spec, parts, log, problems, found)
    found.violations = [
        Violation.of(f"defects.{rule}", _RULES[rule], len(where), where, "partition(s)")
        for rule, where in problems.items()
    ]
    return found


def late_rows_cut_off(root: str, storage_options: dict | None = None) -> bool:
    """Whether some late rows of a messy lake belong to days it does not hold: a partition's
    rows landed in an `ingest_dt` the lake lacks, or the lake starts after the world does (rows
    of earlier days land in its first partitions, without their same-day relatives)."""
    loc = resolve_target(root, storage_options)
    lake = read_identity(loc)
    days: set[str] = set()
    landed: set[str] = set()
    for spec in TABLES:
        if spec.partition_column is not None:
            continue
        for partition in list_dir(loc, spec.name):
            rel_dir = f"{spec.name}/{partition}"
            if "=" not in partition or MANIFEST_NAME not in list_dir(loc, rel_dir):
                continue
            days.add(partition.split("=", 1)[1])
            manifest = PartitionManifest.from_json(read_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}"))
            landed.update((manifest.messiness or {}).get("late_out", {}))
    starts_late = lake is not None and bool(days) and min(days) > lake.world_start
    return starts_late or not landed <= days


_RULES = {
    "undo_failed": "every logged primary key is in its table",
    "clean_mismatch": "undoing the log gives the partition's clean rows (digest and count)",
    "counts_mismatch": "the manifest's defect counts = the log's",
    "no_truth": "a messy partition's manifest records its clean digest",
}


def _check_table(
    spec: TableSpec,
    parts: Partitions,
    log: pa.Table,
    problems: dict[str, list[str]],
    found: DefectCheck,
) -> None:
    entries = log.filter(pc.equal(log.column("table_name"), spec.name))
    dirty = pa.concat_tables(
        [t.append_column(_PART, pa.repeat(pa.scalar(v), t.num_rows)) for v, (t, _) in parts.items()]
    )
    try:
        undone = undo_defects(dirty, entries, spec.name)
    except KeyError as exc:
        problems.setdefault("undo_failed", []).append(f"{spec.name}: {exc.args[0]}")
        return
    undone = _return_late_rows(spec, undone, entries)
    homes = undone.column(_PART).to_numpy(zero_copy_only=False)
    hashes = row_hashes(undone.drop_columns([_PART]))
    # rows grouped by home partition once, not filtered per partition
    keys, home_of = np.unique(homes, return_inverse=True)
    splits = np.cumsum(np.bincount(home_of, minlength=len(keys)))[:-1]
    rows = np.split(np.argsort(home_of, kind="stable"), splits)[: len(keys)]  # none if no rows
    groups = dict(zip(keys.tolist(), rows, strict=True))
    empty = np.zeros(0, dtype=np.int64)
    for value, (_, manifest) in parts.items():
        where = f"{spec.name}/{manifest.partition}"
        truth = manifest.messiness
        if truth is None:
            problems.setdefault("no_truth", []).append(where)
            continue
        if any(day not in parts for day in truth.get("late_out", {})):
            found.unchecked.append(where)
            continue
        mine = hashes[groups.get(value, empty)]
        if len(mine) != truth["clean_rows"] or digest(mine) != truth["clean_digest"]:
            problems.setdefault("clean_mismatch", []).append(where)
            continue
        logged = entries.filter(pc.equal(entries.column("partition"), manifest.partition))
        if defect_counts(logged).get(spec.name, {}) != truth["defects"]:
            problems.setdefault("counts_mismatch", []).append(where)
            continue
        found.matched += 1


def _return_late_rows(spec: TableSpec, data: pa.Table, entries: pa.Table) -> pa.Table:
    """Put each late row back in the partition of its own day (the entry's clean value)."""
    late = entries.filter(pc.equal(entries.column("defect_type"), LATE_DEFECT))
    if late.num_rows == 0:
        return data
    where = pc.index_in(pk_text(data, spec.pk), value_set=late.column("pk_value").combine_chunks())
    home = late.column("clean_value").combine_chunks().take(where)
    moved = pc.coalesce(home, data.column(_PART).combine_chunks())
    return data.set_column(data.schema.get_field_index(_PART), _PART, moved)


def _read_log(loc: LakeLocation) -> pa.Table:
    """Every committed defect-log partition of the lake, lineage dropped."""
    tables = [
        t.select(DEFECT_SCHEMA.names).cast(DEFECT_SCHEMA)
        for name in defect_log_tables()
        for t, _ in _read_partitions(loc, name).values()
    ]
    return pa.concat_tables([DEFECT_SCHEMA.empty_table(), *tables])


Partitions = dict[str, tuple[pa.Table, PartitionManifest]]


def _read_partitions(loc: LakeLocation, table: str) -> Partitions:
    """Committed partitions of `table`: value -> (rows without lineage, manifest)."""
    parts = {}
    for partition in list_dir(loc, table):
        rel_dir = f"{table}/{partition}"
        if "=" not in partition or SUCCESS_NAME not in list_dir(loc, rel_dir):
            continue
        manifest = PartitionManifest.from_json(read_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}"))
        pieces = [pq.read_table(io.BytesIO(read_bytes(loc, f.path))) for f in manifest.files]
        data = pa.concat_tables(pieces)
        data = data.drop_columns([c for c in LINEAGE_COLUMNS if c in data.column_names])
        parts[partition.split("=", 1)[1]] = (data, manifest)
    return parts
