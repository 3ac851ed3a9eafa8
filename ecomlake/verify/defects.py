"""`verify --against-defects`: undo a messy lake's defect log and compare with the clean truth.

Each messy data partition's manifest records the digest of its clean rows (ecomlake.messiness
.truth). Partitions are checked one at a time, each read once with only its own table's entries
of its log partition: the logged copies are dropped and the logged cells restored; then its rows
must have its clean digest and row count, and its logged defect counts must match its manifest.

Late rows land in a later `ingest_dt` than their own day, so the days are walked newest first:
a partition's late rows (its log's `late_arrival` entries name their day) are set aside as row
hashes until their own day is checked, which is at most `late_max_days` partitions on. Memory
holds one partition plus the hashes of the late rows still on their way, whatever the number
of days. A partition whose late rows landed in a partition the lake lacks cannot be put back
together and is counted as not checkable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.errors import OptionError
from ecomlake.lake.fs import LakeLocation, list_dir, read_bytes, resolve_target
from ecomlake.lake.identity import read_identity
from ecomlake.lake.layout import MANIFEST_NAME
from ecomlake.lake.manifest import PartitionManifest
from ecomlake.messiness import undo_defects
from ecomlake.messiness.log import DEFECT_SCHEMA, defect_counts, log_table_for, pk_text
from ecomlake.messiness.registry import LATE_DEFECT
from ecomlake.messiness.truth import digest, row_hashes
from ecomlake.render.registry import TABLES, TableSpec
from ecomlake.verify import partition_reader
from ecomlake.verify.invariants import Violation


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
        rule = (
            f"{{against_defects}}: {root} is not a messy lake (its _lake.json names no messiness "
            "level), so there is no defect log to undo"
        )
        raise OptionError("", rule, "against_defects")
    found = DefectCheck()
    problems: dict[str, list[str]] = {}
    for spec in TABLES:
        parts = partition_reader.committed_partitions(loc, spec.name)
        if parts:
            logs = partition_reader.committed_partitions(loc, log_table_for(spec)[0])
            _TableCheck(loc, spec, parts, logs, problems, found).run()
    found.violations = [
        Violation.of(f"defects.{rule}", _RULES[rule], len(where), sorted(where), "partition(s)")
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


PARTITION_VALUE = "_partition_value"


def clean_tables(root: str, storage_options: dict | None = None) -> Iterator[tuple[str, pa.Table]]:
    """A messy lake's rows with its defect log undone, one partition at a time: `(table, rows)`
    with the copies dropped and the cells restored, each row tagged in `PARTITION_VALUE` with
    the partition it belongs to (a late row: its own day). KeyError when the log names a row
    the table lacks."""
    loc = resolve_target(root, storage_options)
    for spec in TABLES:
        parts = partition_reader.committed_partitions(loc, spec.name)
        if not parts:
            continue
        logs = partition_reader.committed_partitions(loc, log_table_for(spec)[0])
        for value in sorted(parts):
            undone, _, homes = _undo_partition(loc, spec, parts[value], logs, value)
            yield spec.name, undone.append_column(PARTITION_VALUE, pa.array(homes, pa.string()))


_RULES = {
    "undo_failed": (
        "every logged defect is in the data: its primary key in its table, each logged copy "
        "present, each logged cell holding its logged dirty value"
    ),
    "clean_mismatch": "undoing the log gives the partition's clean rows (digest and count)",
    "counts_mismatch": "the manifest's defect counts = the log's",
    "no_truth": "a messy partition's manifest records its clean digest",
}


class _TableCheck:
    """One table's partitions, newest first, with the late rows set aside for their own day."""

    def __init__(
        self,
        loc: LakeLocation,
        spec: TableSpec,
        parts: dict[str, PartitionManifest],
        logs: dict[str, PartitionManifest],
        problems: dict[str, list[str]],
        found: DefectCheck,
    ) -> None:
        self.loc, self.spec, self.parts, self.logs = loc, spec, parts, logs
        self.problems, self.found = problems, found
        self.waiting: dict[str, list[np.ndarray]] = {}  # day -> hashes of its late rows seen
        self.done: set[str] = set()

    def run(self) -> None:
        for value in sorted(self.parts, reverse=True):  # a late row lands after its own day
            self._check(value, self.parts[value])
            self.done.add(value)

    def _check(self, value: str, manifest: PartitionManifest) -> None:
        where = self._name(value)
        try:
            undone, entries, homes = _undo_partition(
                self.loc, self.spec, manifest, self.logs, value
            )
        except KeyError as exc:
            self._fail("undo_failed", f"{where} ({exc.args[0]})")
            return
        hashes = row_hashes(undone)
        mine = [hashes[homes == value], *self.waiting.pop(value, [])]
        self._set_aside(hashes, homes, value)
        truth = manifest.messiness
        if truth is None:
            self._fail("no_truth", where)
            return
        if any(day not in self.parts for day in truth.get("late_out", {})):
            self.found.unchecked.append(where)
            return
        mine = np.concatenate(mine)
        if len(mine) != truth["clean_rows"] or digest(mine) != truth["clean_digest"]:
            self._fail("clean_mismatch", where)
            return
        if defect_counts(entries).get(self.spec.name, {}) != truth["defects"]:
            self._fail("counts_mismatch", where)
            return
        self.found.matched += 1

    def _set_aside(self, hashes: np.ndarray, homes: np.ndarray, value: str) -> None:
        """Keep the hashes of the late rows found here until their own day is checked; if that
        day was checked already (a log naming a later day) it lacked them, and a day the lake
        does not hold is not checked at all."""
        for home in np.unique(homes[homes != value]).tolist():
            if home in self.done:
                self._fail("clean_mismatch", self._name(home))
            elif home in self.parts:
                self.waiting.setdefault(home, []).append(hashes[homes == home])

    def _name(self, value: str) -> str:
        return f"{self.spec.name}/{self.spec.partition_key}={value}"

    def _fail(self, rule: str, where: str) -> None:
        found = self.problems.setdefault(rule, [])
        if where not in found:  # a day can lose rows to more than one later partition
            found.append(where)


def _undo_partition(
    loc: LakeLocation,
    spec: TableSpec,
    manifest: PartitionManifest,
    logs: dict[str, PartitionManifest],
    value: str,
) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """The partition's rows with its log entries undone, those entries, and the partition each
    row belongs to; KeyError when an entry names a row the partition lacks."""
    entries = _entries(loc, spec, logs, value)
    rows = partition_reader.read_rows(loc, manifest)
    undone = undo_defects(rows, entries, spec.name, strict=True)
    return undone, entries, _homes(undone, spec, entries, value)


def _entries(
    loc: LakeLocation, spec: TableSpec, logs: dict[str, PartitionManifest], value: str
) -> pa.Table:
    """The table's entries of the partition's log (none if the log was not committed)."""
    log = logs.get(value)
    if log is None:
        return DEFECT_SCHEMA.empty_table()
    mine = {"table_name": spec.name, "partition": f"{spec.partition_key}={value}"}
    return partition_reader.read_rows(loc, log, mine, DEFECT_SCHEMA.names).cast(DEFECT_SCHEMA)


def _homes(data: pa.Table, spec: TableSpec, entries: pa.Table, value: str) -> np.ndarray:
    """The partition each row belongs to: a late row's own day (its entry's clean value)."""
    late = entries.filter(pc.equal(entries.column("defect_type"), LATE_DEFECT))
    here = np.full(data.num_rows, value, dtype=object)
    if late.num_rows == 0:
        return here
    where = pc.index_in(pk_text(data, spec.pk), value_set=late.column("pk_value").combine_chunks())
    home = late.column("clean_value").combine_chunks().take(where)
    return pc.fill_null(home, value).to_numpy(zero_copy_only=False)
