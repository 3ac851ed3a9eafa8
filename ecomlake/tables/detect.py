"""Which table format a lake's tables are in, from their folders alone (no catalog needed), so
`verify` and `--repair` find the tables of a lake whatever flags made it."""

from __future__ import annotations

from ecomlake.lake import LakeLocation, exists
from ecomlake.messiness.log import defect_log_tables
from ecomlake.render.registry import TABLE_NAMES

DELTA_LOG = "_delta_log"
ICEBERG_METADATA = "metadata"


def lake_tables() -> list[str]:
    """Every folder of a lake that can be a table: the data tables and the defect logs."""
    return [*TABLE_NAMES, *defect_log_tables()]


def table_format(loc: LakeLocation, table: str) -> str | None:
    """'delta' or 'iceberg' for a table folder holding that format's log, else None."""
    if exists(loc, f"{table}/{DELTA_LOG}"):
        return "delta"
    if exists(loc, f"{table}/{ICEBERG_METADATA}"):
        return "iceberg"
    return None


def lake_format(loc: LakeLocation) -> str:
    """The format of the lake's first table that has one; 'parquet' when none has."""
    for table in lake_tables():
        found = table_format(loc, table)
        if found is not None:
            return found
    return "parquet"
