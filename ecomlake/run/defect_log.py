"""Commit one defect-log partition: counts sidecar, then the log's parts, manifest and `_SUCCESS`.

Called by `run_day` before the data partitions the log describes, so committed data has its log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from ecomlake.lake import (
    SUCCESS_NAME,
    LakeLocation,
    partition_dir,
    partition_name,
    remove,
    write_bytes,
    write_partition,
)
from ecomlake.messiness import COUNTS_NAME, DEFECT_PK, counts_json

if TYPE_CHECKING:
    from ecomlake.run.task import WriteSettings


def commit_defect_log(
    loc: LakeLocation, table: str, key: str, value: str, log: pa.Table, settings: WriteSettings
) -> tuple[str, str]:
    """(log table, manifest JSON) of the committed partition `<table>/<key>=<value>`."""
    rel_dir = partition_dir(table, key, value)
    remove(loc, f"{rel_dir}/{SUCCESS_NAME}")  # uncommitted before its counts change
    counts = counts_json(log, settings.messiness_level, partition_name(key, value))
    write_bytes(loc, f"{rel_dir}/{COUNTS_NAME}", counts.encode("utf-8"))
    manifest = write_partition(
        loc,
        table,
        key,
        value,
        log,
        pk_columns=DEFECT_PK,
        event_date_column=None,
        lineage=settings.lineage,
        parquet=settings.parquet,
        identity=settings.identity,
    )
    return table, manifest.to_json()
