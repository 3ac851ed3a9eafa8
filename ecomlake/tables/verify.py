"""`verify` on an Iceberg or Delta lake: each table's files equal its committed partitions'.

A table is found by its folder (`_delta_log/` or Iceberg's `metadata/`); the Iceberg tables are
read through the lake's own SQLite catalog when it has one, else from the newest metadata file,
so a lake in another catalog is checked without its credentials.
"""

from __future__ import annotations

from ecomlake.errors import StorageError
from ecomlake.lake import (
    MANIFEST_NAME,
    LakeLocation,
    PartitionManifest,
    exists,
    list_dir,
    read_bytes,
)
from ecomlake.tables.catalog import CATALOG_FILE
from ecomlake.tables.detect import lake_tables, table_format
from ecomlake.tables.options import TableOptions
from ecomlake.verify.invariants import Violation

RULES = {
    "file_not_in_table": "every file of a committed partition is in the table",
    "file_not_in_lake": "every file of the table is in a committed partition, at its size",
}


def check_tables(loc: LakeLocation) -> list[Violation]:
    """The table-format checks of every Iceberg or Delta table of the lake ([] for Parquet)."""
    found: dict[str, list[str]] = {rule: [] for rule in RULES}
    for table in lake_tables():
        held = _table_files(loc, table)
        if held is None:
            continue
        lake = _committed_files(loc, table)
        found["file_not_in_table"] += sorted(p for p, s in lake.items() if held.get(p) != s)
        found["file_not_in_lake"] += sorted(p for p, s in held.items() if lake.get(p) != s)
    return [
        Violation.of(f"tables.{rule}", RULES[rule], len(paths), paths, "file(s)")
        for rule, paths in found.items()
        if paths
    ]


def _table_files(loc: LakeLocation, table: str) -> dict[str, int] | None:
    """{path: size} the table holds, or None when the table is not Iceberg or Delta."""
    fmt = table_format(loc, table)
    if fmt == "delta":
        from ecomlake.tables.delta import DeltaFormat

        return DeltaFormat(loc, {}).files(table)
    if fmt is None:
        return None
    from ecomlake.tables.iceberg import IcebergFormat, latest_metadata_files

    if exists(loc, CATALOG_FILE) and loc.is_local:
        return IcebergFormat(loc, TableOptions("iceberg")).files(table)
    return latest_metadata_files(loc, table)


def _committed_files(loc: LakeLocation, table: str) -> dict[str, int]:
    """{path: size} listed by the manifests of the table's partitions (a partition without a
    readable manifest is left to the manifest checks)."""
    files: dict[str, int] = {}
    for name in list_dir(loc, table):
        if "=" not in name:
            continue
        try:
            manifest = PartitionManifest.from_json(
                read_bytes(loc, f"{table}/{name}/{MANIFEST_NAME}")
            )
        except StorageError:
            continue
        files.update((f.path, f.size) for f in manifest.files if f.size is not None)
    return files
