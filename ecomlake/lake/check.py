"""Is a committed partition whole? A cheap check from one listing (the manifest's files at their
sizes, no unlisted Parquet file) that every re-run makes, and a full one that also reads each
file (sha256, Parquet footer rows) for `--repair`. Files that are not Parquet (a hook's output,
a defect log's counts) are not the manifest's business.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ecomlake.errors import EcomlakeError
from ecomlake.lake.fs import LakeLocation, list_file_sizes, read_bytes
from ecomlake.lake.layout import MANIFEST_NAME, SUCCESS_NAME, is_data_file
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
    sizes = list_file_sizes(loc, rel_dir)
    if not sizes:
        return PartitionState(None, "missing")
    if MANIFEST_NAME not in sizes:
        return PartitionState(None, f"no {MANIFEST_NAME}")
    try:
        manifest = PartitionManifest.from_json(read_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}"))
    except EcomlakeError as exc:
        return PartitionState(None, f"unreadable {MANIFEST_NAME} ({exc})")
    return PartitionState(manifest, _problem(loc, rel_dir, manifest, sizes, identity, full))


def _problem(
    loc: LakeLocation,
    rel_dir: str,
    manifest: PartitionManifest,
    sizes: dict[str, int],
    identity: RunIdentity,
    full: bool,
) -> str | None:
    if SUCCESS_NAME not in sizes:
        return f"no {SUCCESS_NAME}"
    if (manifest.seed, manifest.config_fingerprint, manifest.generator_version) != (
        identity.seed,
        identity.config_fingerprint,
        identity.generator_version,
    ):
        return "written with another seed, config or generator version"
    if f"{manifest.table}/{manifest.partition}" != rel_dir:
        return f"manifest names {manifest.table}/{manifest.partition}"
    problem = listing_problem(manifest, rel_dir, sizes)
    if problem is not None or not full:
        return problem
    return _content_problem(loc, manifest)


def listing_problem(manifest: PartitionManifest, rel_dir: str, sizes: dict[str, int]) -> str | None:
    """A listed file missing or of another size, or a Parquet file the manifest does not list."""
    listed: dict[str, int | None] = {}
    for entry in manifest.files:
        parent, _, name = entry.path.rpartition("/")
        if parent != rel_dir:
            return f"manifest lists {entry.path}, outside the partition"
        listed[name] = entry.size
    for name, size in listed.items():
        if name not in sizes:
            return f"{name} is missing"
        if size is not None and sizes[name] != size:
            return f"{name} is {sizes[name]} bytes, the manifest says {size}"
    extra = sorted(n for n in sizes if is_data_file(n) and n not in listed)
    return f"{extra[0]} is not in the manifest" if extra else None


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
