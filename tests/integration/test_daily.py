"""The scheduled pattern: one day generated alone equals that day inside a full backfill."""

from __future__ import annotations

import dataclasses
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
    signup = "customers/signup_dt=2024-03-14/part-00000.parquet"
    assert (daily / signup).read_bytes() == (quick_lake / signup).read_bytes()


def test_a_daily_run_renders_only_the_customers_it_still_writes(tmp_path, quick_config, quick_lake):
    """The task of a lone day owns every earlier signup day; those an earlier run committed are
    skipped before rendering, so the day renders four days of customers, not the whole past."""
    import pyarrow.parquet as pq

    lake = tmp_path / "lake"
    first = GenerateOptions(target=str(lake), executor="in-process", **PINNED)
    until = dataclasses.replace(
        first, end_date=dt.date(2024, 3, 10), start_date=dt.date(2024, 1, 1)
    )
    assert generate(quick_config, until).ok
    day = dataclasses.replace(first, dates=(dt.date(2024, 3, 14),))
    result = generate(quick_config, day)
    assert result.ok
    new = [f"signup_dt=2024-03-{d}" for d in range(11, 15)]
    fresh = sum(
        pq.read_metadata(lake / "customers" / p / "part-00000.parquet").num_rows for p in new
    )
    assert result.rows_by_table()["customers"] == fresh > 0
    assert result.results[0].skipped > 60  # the earlier signup partitions, untouched
    for p in new:
        part = f"customers/{p}/part-00000.parquet"
        assert (lake / part).read_bytes() == (quick_lake / part).read_bytes()
