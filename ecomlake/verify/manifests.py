"""Check that every partition's `_MANIFEST.json` and `_SUCCESS` match the files on storage.

Rules: each partition dir has both markers; the manifest parses, names its own table and
partition, and its total_rows is the sum of its files; each listed file lives in that partition,
exists, has the listed size, row count and sha256; nothing a reader of the folder would take as
data is left unlisted, and no table or partition holds a link, a special file or a stray folder
(see `lake/check.py`). A file is read only once its size matches, so a damaged entry can neither
hang the check nor fill its memory.

Partitions are checked in batches, one after another here or as Ray tasks (`on_ray`); each
batch gives back only counts and a few examples per rule, merged in batch order, so the report
is the same either way and the driver's memory does not grow with the lake.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from ecomlake.errors import StorageError
from ecomlake.lake.check import Stray, entry_problem, sidecar_problem, survey_table
from ecomlake.lake.fs import Entry, LakeLocation, is_link, list_entries, read_bytes, resolve_target
from ecomlake.lake.identity import read_identity
from ecomlake.lake.layout import MANIFEST_NAME, SUCCESS_NAME, is_foreign_file
from ecomlake.lake.manifest import ManifestFile, PartitionManifest
from ecomlake.messiness.log import (
    COUNTS_NAME,
    COUNTS_SIDECAR,
    counts_problem,
    defect_log_tables,
    log_table_for,
)
from ecomlake.render.registry import TABLE_NAMES, table_spec
from ecomlake.verify.invariants import MAX_EXAMPLES, Violation

RULES = {
    "success_missing": "partition has a _SUCCESS marker",
    "manifest_missing": "partition has a _MANIFEST.json",
    "manifest_invalid": "_MANIFEST.json parses as a manifest",
    "total_rows": "manifest total_rows = Σ files' rows",
    "table_mismatch": "manifest table = the table directory",
    "partition_mismatch": "manifest partition = the partition directory",
    "file_outside_partition": "each listed file lies in the manifest's own partition",
    "file_missing": "each listed file exists",
    "size": "each listed file has the listed size",
    "unreadable": "each listed file is readable Parquet",
    "row_count": "each listed file has the listed number of rows",
    "checksum": "each listed file's sha256 = the listed checksum",
    "batch_id": "each listed file's batch_id column holds its manifest's batch_id",
    "unlisted_file": "every data file in a table's folders is listed in a manifest",
    "unexpected_entry": "tables and partitions hold no links, special files or stray folders",
    # A hook's summary.txt, a notes.csv: pandas and pyarrow open every visible file of a folder
    # as Parquet and fail. Runs and --repair leave such files alone (they are someone's).
    "foreign_file": (
        "a table or partition folder holds no visible file but its data (pandas and pyarrow "
        "would read it as Parquet and fail): give it a name starting with '_' or move it out"
    ),
    "identity_mismatch": "manifest seed and config fingerprint = the lake's (_lake.json)",
    "defect_counts": f"a defect log's {COUNTS_NAME} = the counts of its rows",
    # The log is the answer key of a messy lake: a partition whose manifest counts defects
    # without it cannot be cleaned or checked (`--against-defects` would only see a mismatch).
    "defect_log_missing": "a partition whose manifest counts defects has its defect log partition",
}
BATCH_PARTITIONS = 64  # partitions per batch: a Ray task of a few seconds on backlog days

Partition = tuple[str, str]  # (table, `key=value` folder)


class LakeKey(NamedTuple):
    """What `_lake.json` says every manifest must match, and the level its defect logs name."""

    seed: int
    config_fingerprint: str
    level: str


@dataclass
class Findings:
    """Per rule: how many items break it and the first few, in the order they were found."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, rule: str, where: str) -> None:
        self.counts[rule] = self.counts.get(rule, 0) + 1
        shown = self.examples.setdefault(rule, [])
        if len(shown) < MAX_EXAMPLES:
            shown.append(where)

    def merge(self, later: Findings) -> None:
        """Take in the findings of a later batch (order kept: ours come first)."""
        for rule, count in later.counts.items():
            self.counts[rule] = self.counts.get(rule, 0) + count
            shown = self.examples.setdefault(rule, [])
            shown.extend(later.examples[rule][: MAX_EXAMPLES - len(shown)])

    def violations(self) -> list[Violation]:
        return [
            Violation.of(f"manifests.{rule}", RULES[rule], count, self.examples[rule], "item(s)")
            for rule, count in self.counts.items()
        ]


def check_manifests(
    root: str, storage_options: dict | None = None, *, on_ray: bool = False
) -> list[Violation]:
    """Manifest rules over every partition of every table under `root`; [] means clean.

    `on_ray`: the batches run as tasks on the Ray this process is connected to.
    """
    loc = resolve_target(root, storage_options)
    lake = read_identity(loc)
    level = str((lake.messiness or {}).get("name", "none")) if lake else ""
    key = LakeKey(lake.seed, lake.config_fingerprint, level) if lake else None
    found = Findings()
    partitions = survey_tables(loc, found)
    logs = set(defect_log_tables())
    logged = frozenset(p for p in partitions if p[0] in logs)
    batches = list(_batches(partitions))
    if on_ray:
        from ecomlake.verify.on_ray import map_batches

        args = [(root, storage_options, key, b, logged) for b in batches]
        done = map_batches(check_batch, args)
    else:
        done = (check_batch(root, storage_options, key, batch, logged) for batch in batches)
    for batch_found in done:
        found.merge(batch_found)
    return found.violations()


def survey_tables(loc: LakeLocation, found: Findings) -> list[Partition]:
    """Every partition folder of every data and defect-log table, in report order; what else
    stands in a table folder is checked on the way."""
    partitions = []
    for table in (*TABLE_NAMES, *defect_log_tables()):
        if is_link(loc, table):
            found.add("unexpected_entry", f"{table} (is a symbolic link)")
        survey = survey_table(loc, table)
        partitions += [(table, name) for name in survey.partitions]
        for stray in survey.strays:
            _add_stray(found, table, stray)
        for name in survey.foreign:
            found.add("foreign_file", f"{table}/{name}")
    return partitions


def _add_stray(found: Findings, rel_dir: str, stray: Stray) -> None:
    """A data file a reader would take counts as unlisted; a link, special file or folder as
    unexpected."""
    where = f"{rel_dir}/{stray.name}"
    if stray.entry.kind == "file" and not stray.entry.link:
        found.add("unlisted_file", where)
    else:
        found.add("unexpected_entry", f"{where} ({stray.problem})")


def _batches(partitions: list[Partition]) -> Iterator[list[Partition]]:
    for start in range(0, len(partitions), BATCH_PARTITIONS):
        yield partitions[start : start + BATCH_PARTITIONS]


def check_batch(
    root: str,
    storage_options: dict | None,
    lake: LakeKey | None,
    batch: Iterable[Partition],
    logged: frozenset[Partition] = frozenset(),
) -> Findings:
    """The findings of a few partitions; resolves the target itself, so it runs in any worker.
    `logged`: the defect-log partitions the lake has."""
    loc = resolve_target(root, storage_options)
    found = Findings()
    logs = set(defect_log_tables())
    for table, partition in batch:
        level = lake.level if lake and table in logs else None
        manifest = _check_partition(loc, table, partition, found, level)
        if manifest and table not in logs and manifest.holds_defects:
            log_table, key = log_table_for(table_spec(table))
            log = (log_table, f"{key}={partition.partition('=')[2]}")
            if log not in logged:
                found.add("defect_log_missing", f"{table}/{partition} (no {'/'.join(log)})")
        if lake and manifest and (manifest.seed, manifest.config_fingerprint) != lake[:2]:
            found.add(
                "identity_mismatch",
                f"{table}/{partition} (seed {manifest.seed}, "
                f"config {str(manifest.config_fingerprint)[:12]})",
            )
    return found


def _check_partition(
    loc: LakeLocation, table: str, partition: str, found: Findings, level: str | None
) -> PartitionManifest | None:
    """Add one `rule -> [where]` entry per problem found in `<table>/<partition>`; `level`: a
    defect log's, whose counts sidecar is checked once its files pass."""
    rel_dir = f"{table}/{partition}"
    entries = list_entries(loc, rel_dir)
    if SUCCESS_NAME not in entries:
        found.add("success_missing", rel_dir)
    if MANIFEST_NAME not in entries:
        found.add("manifest_missing", rel_dir)
        return None
    manifest = _load_manifest(loc, rel_dir, found)
    if manifest is None:
        return None
    if manifest.table != table:
        found.add("table_mismatch", f"{rel_dir} (says {manifest.table!r})")
    if manifest.partition != partition:
        found.add("partition_mismatch", f"{rel_dir} (says {manifest.partition!r})")
    listed = set()
    before = sum(found.counts.values())
    for entry in manifest.files:
        parent, _, name = entry.path.rpartition("/")
        if parent != rel_dir:
            found.add("file_outside_partition", f"{rel_dir}: {entry.path}")
            continue
        listed.add(name)
        if _listed_file_ok(loc, entry, entries.get(name), found):
            _check_content(loc, entry, manifest.batch_id, found)
    if level is not None and sum(found.counts.values()) == before:
        judge = partial(counts_problem, level=level)
        problem = sidecar_problem(loc, manifest, entries, *COUNTS_SIDECAR, judge)
        if problem:
            found.add("defect_counts", f"{rel_dir} ({problem})")
    for name, entry in sorted(entries.items()):
        problem = None if name in listed else entry_problem(name, entry, listed=False)
        if problem:
            _add_stray(found, rel_dir, Stray(name, entry, problem))
        elif name not in listed and is_foreign_file(name):
            found.add("foreign_file", f"{rel_dir}/{name}")
    return manifest


def _listed_file_ok(
    loc: LakeLocation, listed: ManifestFile, entry: Entry | None, found: Findings
) -> bool:
    """Whether a listed file is there as a plain file of the listed size, so worth reading."""
    if entry is None:
        found.add("file_missing", listed.path)
        return False
    problem = entry_problem(listed.path.rsplit("/", 1)[-1], entry, listed=True)
    if problem:
        found.add("unexpected_entry", f"{listed.path} ({problem})")
        return False
    if listed.size is not None and entry.size != listed.size:
        found.add("size", f"{listed.path} ({entry.size} bytes, listed {listed.size})")
        return False
    return True


def _check_content(loc: LakeLocation, listed: ManifestFile, batch_id: str, found: Findings) -> None:
    data = read_bytes(loc, listed.path)
    if hashlib.sha256(data).hexdigest() != listed.checksum:
        found.add("checksum", listed.path)
    footer = _footer(data)
    if footer is None:
        found.add("unreadable", listed.path)
        return
    if footer.num_rows != listed.rows:
        found.add("row_count", f"{listed.path} ({footer.num_rows} rows, listed {listed.rows})")
    written = _batch_ids(footer)
    if written is not None and written != {batch_id}:
        shown = ", ".join(sorted(written))
        found.add("batch_id", f"{listed.path} (holds {shown}, the manifest says {batch_id})")


def _batch_ids(footer: pq.FileMetaData) -> set[str] | None:
    """The batch ids a file's `batch_id` column holds, from its statistics (the column is one
    value a file); None when it has no such column or no statistics to tell."""
    names = footer.schema.names
    if "batch_id" not in names:
        return None
    index = names.index("batch_id")
    values: set[str] = set()
    for group in range(footer.num_row_groups):
        stats = footer.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            return None
        values |= {str(stats.min), str(stats.max)}
    return values


def _load_manifest(loc: LakeLocation, rel_dir: str, found: Findings) -> PartitionManifest | None:
    """The parsed manifest, or None (recorded as invalid); a bad total_rows is recorded apart."""
    raw = read_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}")
    try:
        data = json.loads(raw)
        listed_total = sum(f["rows"] for f in data["files"])
        if data["total_rows"] != listed_total:
            found.add(
                "total_rows",
                f"{rel_dir} (total_rows {data['total_rows']}, files sum to {listed_total})",
            )
            data["total_rows"] = listed_total  # go on checking the files themselves
        return PartitionManifest.from_json(json.dumps(data))
    except (StorageError, ValueError, KeyError, TypeError) as exc:
        found.add("manifest_invalid", f"{rel_dir} ({exc})")
        return None


def _footer(data: bytes) -> pq.FileMetaData | None:
    """A Parquet file's footer, or None if it is not readable Parquet."""
    try:
        return pq.ParquetFile(pa.BufferReader(data)).metadata
    except (pa.ArrowException, OSError, ValueError):
        return None
