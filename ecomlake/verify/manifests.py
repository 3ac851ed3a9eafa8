"""Check that every partition's `_MANIFEST.json` and `_SUCCESS` match the files on storage.

Rules: each partition dir has both markers; the manifest parses, names its own table and
partition, and its total_rows is the sum of its files; each listed file lives in that partition,
exists, has the listed row count and sha256; no part file is left unlisted.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq

from ecomlake.errors import StorageError
from ecomlake.lake.fs import LakeLocation, list_dir, read_bytes, resolve_target
from ecomlake.lake.identity import LakeIdentity, read_identity
from ecomlake.lake.layout import MANIFEST_NAME, SUCCESS_NAME, is_part_file
from ecomlake.lake.manifest import PartitionManifest
from ecomlake.messiness.log import defect_log_tables
from ecomlake.render.registry import TABLE_NAMES
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
    "unreadable": "each listed file is readable Parquet",
    "row_count": "each listed file has the listed number of rows",
    "checksum": "each listed file's sha256 = the listed checksum",
    "unlisted_file": "every part file in the partition is listed in the manifest",
    "identity_mismatch": "manifest seed and config fingerprint = the lake's (_lake.json)",
}


def check_manifests(root: str, storage_options: dict | None = None) -> list[Violation]:
    """Manifest rules over every partition of every table under `root`; [] means clean."""
    loc = resolve_target(root, storage_options)
    lake = read_identity(loc)
    problems: dict[str, list[str]] = defaultdict(list)
    for table in (*TABLE_NAMES, *defect_log_tables()):
        for partition in list_dir(loc, table):
            if "=" in partition:
                manifest = _check_partition(loc, table, partition, problems)
                if lake and manifest and not _same_lake(manifest, lake):
                    problems["identity_mismatch"].append(
                        f"{table}/{partition} (seed {manifest.seed}, "
                        f"config {str(manifest.config_fingerprint)[:12]})"
                    )
    return [
        Violation(
            f"manifests.{rule}",
            f"{len(where)} item(s) break '{RULES[rule]}'; e.g. " + ", ".join(where[:MAX_EXAMPLES]),
            len(where),
        )
        for rule, where in problems.items()
    ]


def _same_lake(manifest: PartitionManifest, lake: LakeIdentity) -> bool:
    return (manifest.seed, manifest.config_fingerprint) == (lake.seed, lake.config_fingerprint)


def _check_partition(
    loc: LakeLocation, table: str, partition: str, problems: dict[str, list[str]]
) -> PartitionManifest | None:
    """Add one `rule -> [where]` entry per problem found in `<table>/<partition>`."""
    rel_dir = f"{table}/{partition}"
    names = list_dir(loc, rel_dir)
    if SUCCESS_NAME not in names:
        problems["success_missing"].append(rel_dir)
    if MANIFEST_NAME not in names:
        problems["manifest_missing"].append(rel_dir)
        return None
    manifest = _load_manifest(loc, rel_dir, problems)
    if manifest is None:
        return None
    if manifest.table != table:
        problems["table_mismatch"].append(f"{rel_dir} (says {manifest.table!r})")
    if manifest.partition != partition:
        problems["partition_mismatch"].append(f"{rel_dir} (says {manifest.partition!r})")
    listed = set()
    for entry in manifest.files:
        parent, _, name = entry.path.rpartition("/")
        if parent != rel_dir:
            problems["file_outside_partition"].append(f"{rel_dir}: {entry.path}")
            continue
        listed.add(name)
        if name not in names:
            problems["file_missing"].append(entry.path)
            continue
        data = read_bytes(loc, entry.path)
        if hashlib.sha256(data).hexdigest() != entry.checksum:
            problems["checksum"].append(entry.path)
        rows = _row_count(data)
        if rows is None:
            problems["unreadable"].append(entry.path)
        elif rows != entry.rows:
            problems["row_count"].append(f"{entry.path} ({rows} rows, listed {entry.rows})")
    for name in names:
        if is_part_file(name) and name not in listed:
            problems["unlisted_file"].append(f"{rel_dir}/{name}")
    return manifest


def _load_manifest(
    loc: LakeLocation, rel_dir: str, problems: dict[str, list[str]]
) -> PartitionManifest | None:
    """The parsed manifest, or None (recorded as invalid); a bad total_rows is recorded apart."""
    raw = read_bytes(loc, f"{rel_dir}/{MANIFEST_NAME}")
    try:
        data = json.loads(raw)
        listed_total = sum(f["rows"] for f in data["files"])
        if data["total_rows"] != listed_total:
            problems["total_rows"].append(
                f"{rel_dir} (total_rows {data['total_rows']}, files sum to {listed_total})"
            )
            data["total_rows"] = listed_total  # go on checking the files themselves
        return PartitionManifest.from_json(json.dumps(data))
    except (StorageError, ValueError, KeyError, TypeError) as exc:
        problems["manifest_invalid"].append(f"{rel_dir} ({exc})")
        return None


def _row_count(data: bytes) -> int | None:
    """Rows in a Parquet file from its footer, or None if it is not readable Parquet."""
    try:
        return pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
    except (pa.ArrowException, OSError, ValueError):
        return None
