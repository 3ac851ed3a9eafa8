"""`ecomlake stats` beyond one clean month: a one-year world for several seeds, and a lake that
holds only some days of its window, judged on exactly those days."""

from __future__ import annotations

import pytest

from ecomlake.lake.fs import resolve_target
from ecomlake.lake.lock import LakeLock
from ecomlake.stats import stats_lake

from .conftest import quick_config, write_lake

P = "parameters."
# Rows that need every day from a customer's first cart or an order's returns to be held.
WINDOW_ROWS = {
    (P + "conversion_rate", None),
    (P + "first_purchase_conversion_boost", "Website"),
    (P + "return_rate", "all orders"),
    (P + "return_rate_by_signup_channel", "Website"),
    (P + "repeat_purchase_settings.propensity_by_channel_and_tier", "Website/Bronze"),
    (P + "seasonal_factors", "2024-03"),
    (P + "tier_spend_thresholds", "Bronze"),
}


def _verdicts(report) -> dict:
    return {(c.knob, c.segment): c.ok for c in report.checks}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_one_year_lakes_pass(tmp_path, seed):
    """A year holds every seasonal month, both retention shocks and returns of every delay
    bucket, so the whole visit model is judged, not one month of it."""
    lake = write_lake(tmp_path / "lake", quick_config("2023-04-01"), seed)
    report = stats_lake(str(lake))
    assert [c for c in report.checks if c.ok is False] == []
    verdicts = _verdicts(report)
    months = [k for k in verdicts if k[0] == P + "seasonal_factors"]
    assert len(months) == 12 and all(verdicts[k] for k in months)
    assert verdicts[(P + "retention_shocks", "2023-11")] is True
    assert sum(c.ok is True for c in report.checks) >= 100


@pytest.mark.slow
def test_partial_lake_is_judged_on_the_days_it_holds(partial_lake):
    report = stats_lake(str(partial_lake))
    assert [c for c in report.checks if c.ok is False] == []
    verdicts = _verdicts(report)
    assert {row: verdicts[row] for row in WINDOW_ROWS} == dict.fromkeys(WINDOW_ROWS, True)
    assert any("holds 60 of the window's 91 days" in note for note in report.notes)


@pytest.mark.slow
def test_partial_lake_fails_changed_window_knobs(partial_lake):
    """Conversion, returns and seasonality changed: their rows on the held days fail."""
    changed = quick_config(
        "2024-01-01",
        **{
            "conversion_rate: 0.12": "conversion_rate: 0.30",
            "    Website: 0.25": "    Website: 0.9",
            "    12: 2.1": "    12: 2.1\n    3: 2.5",
        },
    )
    report = stats_lake(str(partial_lake), changed)
    failed = {(c.knob, c.segment) for c in report.checks if c.ok is False}
    assert failed >= {
        (P + "first_purchase_conversion_boost", "Website"),
        (P + "return_rate_by_signup_channel", "Website"),
        (P + "seasonal_factors", "2024-03"),
    }


def test_a_stopped_or_busy_lake_is_refused_not_blamed_on_its_config(tmp_path):
    """A stopped run left customers of all its days unwritten: the cart rows of the default
    tier then failed as if the config were wrong. A run still writing the lake did the same."""
    from ecomlake.api import generate
    from ecomlake.errors import ConfigError
    from ecomlake.run.driver import GenerateOptions
    from ecomlake.run.executors import RunProgress
    from ecomlake.run.interrupt import StopRequest

    stop, done = StopRequest(), []

    def day_done(outcome, count) -> None:
        done.append(outcome)
        if len(done) == 5:
            stop.request("enough")

    root = tmp_path / "lake"
    options = GenerateOptions(target=str(root), executor="in-process", batch_id="backfill")
    result = generate(quick_config("2024-03-01"), options, RunProgress(day_done=day_done), stop)
    assert result.interrupted == "enough"
    with pytest.raises(ConfigError, match="the run backfill stopped with 26 of its days not done"):
        stats_lake(str(root))
    # A run still writing the lake (this process holds its lock): its days are only pending.
    busy = r"a run is writing this lake \(batch resume, pid "
    with LakeLock(resolve_target(str(root)), "resume"), pytest.raises(ConfigError, match=busy):
        stats_lake(str(root))


def test_files_no_committed_partition_lists_are_left_out(tmp_path, caplog):
    """A killed day's partition (no _SUCCESS, no manifest) and a stray copy beside a part file
    were read as data: orders went from 12 to 29, and the report failed."""
    import datetime as dt
    import json
    import shutil

    cfg = quick_config("2024-03-01")
    root = write_lake(tmp_path / "lake", cfg, 7, start_date=dt.date(2024, 3, 1), days=1)
    first = stats_lake(str(root))
    days = {d for rows in first.charts["rows_per_day"].values() for d, _ in rows}
    assert days == {"2024-03-01"}  # the days before it were drawn as days without sales
    before = json.loads(first.to_json())
    assert before["window"] == ["2024-03-01", "2024-03-31"] and before["days_held"] == 1
    other = write_lake(tmp_path / "other", cfg, 7, start_date=dt.date(2024, 3, 2), days=1)
    for table in ("shopping_carts", "orders"):
        half = root / table / "ingest_dt=2024-03-02"
        half.mkdir()
        shutil.copy(other / table / "ingest_dt=2024-03-02" / "part-00000.parquet", half)
    part = next((root / "orders").glob("ingest_dt=2024-03-01/part-00000.parquet"))
    shutil.copy(part, part.with_name("part-00001.parquet"))
    after = json.loads(stats_lake(str(root)).to_json())
    assert after["checks"] == before["checks"]
    assert "left out 3 file(s) that no committed partition lists" in caplog.text


def test_carts_whose_late_lines_land_after_the_lake_are_not_sized(tmp_path):
    """A messy lake's newest carts miss the lines that arrive after its last day, even with the
    log undone: a faithful daily lake failed the cart-size bounds every morning."""
    import datetime as dt

    from ecomlake.lake.fs import resolve_target
    from ecomlake.stats.source import late_lines_pending
    from ecomlake.verify.partition_reader import committed_partitions

    cfg = quick_config("2024-03-01")
    window = {"start_date": dt.date(2024, 3, 1), "days": 10, "messiness_level": "heavy_mess"}
    root = write_lake(tmp_path / "lake", cfg, 7, **window)
    pending = late_lines_pending(committed_partitions(resolve_target(str(root)), "cart_items"))
    assert pending and all("2024-03-01" <= day <= "2024-03-10" for day in pending)
    report = stats_lake(str(root))
    note = f"the carts of {len(pending)} day(s) are left out of the cart-size rows"
    assert any(n.startswith(note) for n in report.notes), report.notes
