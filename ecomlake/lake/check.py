"""Is a committed partition whole? A cheap check from one listing (the manifest's files at their
sizes, nothing a reader would take as data beside them) that every re-run makes, and a full one
that also reads each file (sha256, Parquet footer rows) for `--repair`. Other files (a hook's
output, a defect log's counts) are not the manifest's business; `sidecar_problem`
reads one and the rows it describes for the check that owns it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from ecomlake.errors import EcomlakeError
from ecomlake.lake.fs import Entry, LakeLocation, is_link, list_entries, read_bytes
from ecomlake.lake.layout import (
    MANIFEST_NAME,
    SUCCESS_NAME,
    is_data_file,
    is_foreign_file,
    is_hidden,
)
from ecomlake.lake.manifest import PartitionManifest

if TYPE_CHECKING:
    from ecomlake.lake.commit import RunIdentity


@dataclass(frozen=True)
class PartitionState:
    """The manifest, when it parses (even if something else is wrong), and the first problem
    found; `problem` None means the partition is whole."""

    manifest: PartitionManifest | None
    problem: str | None


def check_partition(
    loc: LakeLocation,
    rel_dir: str,
    identity: RunIdentity,
    *,
    full: bool = False,
) -> PartitionState:
    """Check `rel_dir` against its manifest: one listing and one read; `full` reads every file."""
    if is_link(loc, rel_dir):
        return PartitionState(None, "is a symbolic link, not a folder of the lake")
    entries = list_entries(loc, rel_dir)
    if not entries:
        return PartitionState(None, "missing")
    if MANIFEST_NAME not in entries:
        return PartitionState(None, f"no {MANIFEST_NAME}")
    try:
        manifest = PartitionManifest.from_json(read_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}"))
    except EcomlakeError as exc:
        return PartitionState(None, f"unreadable {MANIFEST_NAME} ({exc})")
    return PartitionState(manifest, _problem(loc, rel_dir, manifest, entries, identity, full))


def _problem(
    loc: LakeLocation,
    rel_dir: str,
    manifest: PartitionManifest,
    entries: dict[str, Entry],
    identity: RunIdentity,
    full: bool,
) -> str | None:
    if SUCCESS_NAME not in entries:
        return f"no {SUCCESS_NAME}"
    if (manifest.seed, manifest.config_fingerprint, manifest.generator_version) != (
        identity.seed,
        identity.config_fingerprint,
        identity.generator_version,
    ):
        return "written with another seed, config or generator version"
    if f"{manifest.table}/{manifest.partition}" != rel_dir:
        return f"manifest names {manifest.table}/{manifest.partition}"
    problem = listing_problem(manifest, rel_dir, entries)
    if problem is not None or not full:
        return problem
    return _content_problem(loc, manifest)


def listing_problem(
    manifest: PartitionManifest, rel_dir: str, entries: dict[str, Entry]
) -> str | None:
    """A listed file missing or of another size, or something beside them that a reader would
    take as data or that is not a plain file (see `entry_problem`)."""
    listed: dict[str, int | None] = {}
    for entry in manifest.files:
        parent, _, name = entry.path.rpartition("/")
        if parent != rel_dir:
            return f"manifest lists {entry.path}, outside the partition"
        listed[name] = entry.size
    for name, size in listed.items():
        found = entries.get(name)
        if found is None:
            return f"{name} is missing"
        problem = entry_problem(name, found, listed=True)
        if problem:
            return f"{name} {problem}"
        if size is not None and found.size != size:
            return f"{name} is {found.size} bytes, the manifest says {size}"
    for name in sorted(set(entries) - set(listed)):
        problem = entry_problem(name, entries[name], listed=False)
        if problem:
            return f"{name} {problem}"
    return None


def entry_problem(name: str, entry: Entry, *, listed: bool) -> str | None:
    """Why `name` may not stand in a partition folder, or None when it may. Not allowed: a link
    or a special file (a FIFO hangs a reader, a link to /dev/zero fills its memory), a
    sub-folder (a recursive glob descends into it), and an unlisted file a reader would take as
    data."""
    if entry.link:
        return "is a symbolic link"
    if entry.kind == "other":
        return "is not a regular file"
    if entry.kind == "dir":
        return "is a folder (readers would take its files as data)"
    if not listed and is_data_file(name):
        return "is not in the manifest"
    return None


def _content_problem(loc: LakeLocation, manifest: PartitionManifest) -> str | None:
    """Each file's sha256 and footer row count against the manifest."""
    for entry in manifest.files:
        data = read_bytes(loc, entry.path)
        if hashlib.sha256(data).hexdigest() != entry.checksum:
            return f"{entry.path}: sha256 differs from the manifest"
        try:
            rows = pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
        except (pa.ArrowException, OSError, ValueError):
            return f"{entry.path}: not readable Parquet"
        if rows != entry.rows:
            return f"{entry.path}: {rows} rows, the manifest says {entry.rows}"
    return None


class Stray(NamedTuple):
    """Something in a table folder that no manifest lists and that should not be there."""

    name: str
    entry: Entry
    problem: str


class TableSurvey(NamedTuple):
    """What stands in a table's folder: its partition folders (sorted), what should not be there
    (removed by a re-run), and someone's files that readers would fail on (left alone)."""

    partitions: list[str]
    strays: list[Stray]
    foreign: list[str]


def survey_table(loc: LakeLocation, table: str) -> TableSurvey:
    """The partition folders of `table`, and what else stands in its folder (Iceberg's
    `metadata/` and hidden folders such as `_delta_log` belong to the table)."""
    survey = TableSurvey([], [], [])
    for name, entry in sorted(list_entries(loc, table).items()):
        owned = "=" in name or name == "metadata" or is_hidden(name)
        if entry.kind == "dir" and not entry.link and owned:
            if "=" in name:
                survey.partitions.append(name)
        elif problem := entry_problem(name, entry, listed=False):
            survey.strays.append(Stray(name, entry, problem))
        elif is_foreign_file(name):
            survey.foreign.append(name)
    return survey


SIDECAR_LIMIT = 1 << 20  # bytes: a sidecar is a small JSON; a bigger one is not ours
Judge = Callable[[bytes | None, pa.Table, str], str | None]


def sidecar_problem(
    loc: LakeLocation,
    manifest: PartitionManifest,
    entries: dict[str, Entry],
    name: str,
    columns: list[str],
    judge: Judge,
) -> str | None:
    """Why the sidecar `name` beside a whole partition (a defect log's counts; `entries` the
    folder's listing) is not what the partition's rows give: `judge(stored, rows, partition)`
    says, with `stored` None when the sidecar is absent, a link, not a plain file or too big to
    be one, and `rows` the `columns` of every listed file. A read that fails is a problem too."""
    rel_dir = f"{manifest.table}/{manifest.partition}"
    entry = entries.get(name)
    usable = entry is not None and not entry.link and entry.kind == "file"
    try:
        small = usable and (entry.size or 0) <= SIDECAR_LIMIT
        stored = read_bytes(loc, f"{rel_dir}/{name}") if small else None
        rows = pa.concat_tables(
            pq.read_table(pa.BufferReader(read_bytes(loc, f.path)), columns=columns)
            for f in manifest.files
        )
    except (EcomlakeError, pa.ArrowException, OSError) as exc:
        return f"{name} cannot be checked ({exc})"
    return judge(stored, rows, manifest.partition)
