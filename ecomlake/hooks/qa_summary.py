"""Example hook: a QA summary per committed partition (rows, nulls per column, event dates).

Use it as `--post-export-hook ecomlake.hooks.qa_summary:summarize`. It logs one JSON line and
writes `<lake>/_qa/<table>/<partition>.json`, outside the partition so manifests stay exact.
"""

from __future__ import annotations

import json
import logging

import pyarrow.parquet as pq

from ecomlake.lake import write_bytes
from ecomlake.lake.fs import join
from ecomlake.run.hooks import ExportContext

log = logging.getLogger(__name__)


def summarize(context: ExportContext) -> dict:
    """Rows, null counts per column and the event-date range of one partition."""
    nulls: dict[str, int] = {}
    rows = 0
    for entry in context.manifest.files:
        metadata = pq.read_metadata(join(context.lake.root, entry.path), filesystem=context.lake.fs)
        rows += metadata.num_rows
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for i in range(row_group.num_columns):
                column = row_group.column(i)
                stats = column.statistics
                count = stats.null_count if stats is not None and stats.has_null_count else 0
                nulls[column.path_in_schema] = nulls.get(column.path_in_schema, 0) + count
    summary = {
        "table": context.table,
        "partition": context.partition,
        "rows": rows,
        "manifest_rows": context.manifest.total_rows,
        "rows_match": rows == context.manifest.total_rows,
        "null_counts": {k: v for k, v in sorted(nulls.items()) if v},
        "min_event_dt": context.manifest.min_event_dt,
        "max_event_dt": context.manifest.max_event_dt,
    }
    body = json.dumps(summary, sort_keys=True)
    log.info("qa %s", body)
    write_bytes(context.lake, f"_qa/{context.table}/{context.partition}.json", body.encode())
    return summary
