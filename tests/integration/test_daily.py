"""The scheduled pattern: one day generated alone equals that day inside a full backfill."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from ecomlake.api import generate
from ecomlake.run.driver import GenerateOptions

PINNED = {"batch_id": "test", "ingestion_ts": "2024-04-01T00:00:00+00:00"}


def _files(root: Path, day: str) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob(f"ingest_dt={day}/*")
    }


def test_a_daily_run_writes_the_backfills_partitions(tmp_path, quick_config, quick_lake):
    daily = tmp_path / "daily"
    result = generate(
        quick_config,
        GenerateOptions(
            target=str(daily), executor="in-process", dates=(dt.date(2024, 3, 14),), **PINNED
        ),
    )
    assert result.ok
    alone, backfill = _files(daily, "2024-03-14"), _files(quick_lake, "2024-03-14")
    assert len(alone) >= 12 and alone == backfill  # tables × (part, manifest, _SUCCESS)
    signup = "customers/signup_date=2024-03-14/part-00000.parquet"
    assert (daily / signup).read_bytes() == (quick_lake / signup).read_bytes()
