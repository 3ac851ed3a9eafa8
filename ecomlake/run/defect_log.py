"""Commit one defect-log partition: its counts sidecar, then its parts, manifest and `_SUCCESS`.

Called by `run_day` before the data partitions the log describes, so committed data has its log.
"""

from __future__ import annotations

import pyarrow as pa

from ecomlake.lake import PartitionSink, partition_name
from ecomlake.messiness import COUNTS_NAME, DEFECT_PK, counts_json


def commit_defect_log(
    sink: PartitionSink, log_at: tuple[str, str], value: str, log: pa.Table, level_name: str
) -> list[tuple[str, str]]:
    """[(log table, manifest JSON)] of `<table>/<key>=<value>`; [] when a repair leaves it."""
    table, key = log_at
    counts = counts_json(log, level_name, partition_name(key, value))
    manifest = sink.commit(
        table,
        key,
        value,
        log,
        pk_columns=DEFECT_PK,
        event_date_column=None,
        sidecars={COUNTS_NAME: counts.encode("utf-8")},
    )
    return [] if manifest is None else [(table, manifest.to_json())]
