"""`verify` on an Iceberg or Delta lake: each table's files equal its committed partitions'.

The lake's format is found from what it holds (detect.py); on an Iceberg or Delta lake a table
with partitions but without its metadata folder, or whose metadata cannot be read, fails by name.
The Iceberg tables are read through the lake's own SQLite catalog when it has one, else from
the newest metadata file, so a lake in another catalog is checked without its credentials.
"""

from __future__ import annotations

from collections.abc import Callable

from ecomlake.errors import OptionError, StorageError
from ecomlake.lake import (
    MANIFEST_NAME,
    LakeLocation,
    PartitionManifest,
    exists,
    list_dir,
    read_bytes,
)
from ecomlake.tables.catalog import CATALOG_FILE
from ecomlake.tables.damage import metadata_folder, one_line, table_damage
from ecomlake.tables.detect import has_partitions, lake_format, lake_tables, table_format
from ecomlake.tables.options import TableOptions
from ecomlake.verify.invariants import Violation

RULES = {
    "file_not_in_table": "every file of a committed partition is in the table",
    "file_not_in_lake": "every file of the table is in a committed partition, at its size",
}
NO_METADATA = "tables.no_metadata"  # a table's partitions, but no table: its folder is gone
UNREADABLE = "tables.unreadable"  # the table's metadata (or the catalog) cannot be read

TableReader = Callable[[str], dict[str, int]]


def check_tables(loc: LakeLocation) -> list[Violation]:
    """The table-format checks of every Iceberg or Delta table of the lake ([] for Parquet):
    one failure per table whose metadata is missing or damaged, naming it and the file, then
    the files the tables and the manifests disagree on."""
    fmt = lake_format(loc)
    if fmt == "parquet":
        return []
    broken: list[Violation] = []
    read = _reader(loc, fmt, broken)
    found: dict[str, list[str]] = {rule: [] for rule in RULES}
    for table in lake_tables():
        if table_format(loc, table) != fmt:
            if has_partitions(loc, table):
                detail = (
                    f"{table}: no {metadata_folder(fmt, table)}/ (missing, or never committed), "
                    f"so its partitions are in no {fmt} table"
                )
                broken.append(Violation(NO_METADATA, detail, 1))
            continue
        try:
            held = read(table)
        except Exception as exc:  # pyiceberg and delta-rs raise their own types
            damage = f"{table_damage(loc, fmt, table, exc)}; {_rebuild(fmt, table)}"
            broken.append(Violation(UNREADABLE, damage, 1))
            continue
        lake = _committed_files(loc, table)
        found["file_not_in_table"] += sorted(p for p, s in lake.items() if held.get(p) != s)
        found["file_not_in_lake"] += sorted(p for p, s in held.items() if lake.get(p) != s)
    return broken + [
        Violation.of(f"tables.{rule}", RULES[rule], len(paths), paths, "file(s)")
        for rule, paths in found.items()
        if paths
    ]


def _rebuild(fmt: str, table: str) -> str:
    """How to get a table whose metadata is damaged back (`--repair` cannot read it): its data
    files are whole, only the table over them is to be made again."""
    if fmt == "delta":
        return (
            f"to rebuild it, delete {table}/_delta_log/ (its history goes with it), then run "
            "the repair command"
        )
    return (
        "to rebuild the tables, run the generate command that made the lake again with "
        "--overwrite (it starts every table afresh)"
    )


def _reader(loc: LakeLocation, fmt: str, broken: list[Violation]) -> TableReader:
    """How to read a table's files: Delta from its log; Iceberg through the lake's own
    catalog when it has one (its namespace found there), else (or when that catalog cannot
    be opened, which is then a failure) from each table's newest metadata file."""
    if fmt == "delta":
        from ecomlake.tables.delta import DeltaFormat

        return DeltaFormat(loc, {}).files
    from ecomlake.tables.iceberg import IcebergFormat, latest_metadata_files

    if exists(loc, CATALOG_FILE) and loc.is_local:
        try:
            return IcebergFormat(loc, TableOptions("iceberg")).files
        except OptionError as exc:  # one of another lake: named as the flags that pick one
            flag = exc.render(lambda field: "--" + field.replace("_", "-"))
            broken.append(Violation(UNREADABLE, f"{CATALOG_FILE}: {flag}", 1))
        except Exception as exc:  # a damaged catalog file
            broken.append(Violation(UNREADABLE, f"{CATALOG_FILE}: {one_line(exc)}", 1))
    return lambda table: latest_metadata_files(loc, table)


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
