"""A second run of a batch id adds its days to the batch's record, in the same world only."""

from __future__ import annotations

import json

from ecomlake.lake.runs import merge_run_record

WORLD = {"start": "2024-01-01", "end": "2024-03-31", "reproducible": True}


def _record(days: list[str], left: list[str] = (), failed: list[str] = (), **world) -> dict:
    return {
        "seed": world.get("seed", 42),
        "config_fingerprint": world.get("fingerprint", "abc"),
        "world": WORLD,
        "days": [{"day": d, "rows": {"orders": 2}} for d in days],
        "failures": [{"day": d, "error": "x"} for d in failed],
        "days_left": list(left),
        "ok": not left and not failed,
    }


def test_the_days_of_both_runs_are_kept_and_a_redone_day_once():
    backfill = _record(["2024-01-01", "2024-01-02"], left=["2024-01-03"])
    nightly = _record(["2024-01-02", "2024-01-03"])
    merged = merge_run_record(nightly, json.dumps(backfill).encode())
    assert [d["day"] for d in merged["days"]] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert merged["days_left"] == [] and merged["days_planned"] == 3 and merged["ok"]
    assert merged["rows"] == {"orders": 6}


def test_a_day_left_or_failed_before_stays_so_until_done():
    backfill = _record(["2024-01-01"], left=["2024-01-05"], failed=["2024-01-04"])
    merged = merge_run_record(_record(["2024-01-02"]), json.dumps(backfill).encode())
    assert merged["days_left"] == ["2024-01-05"] and not merged["ok"]
    assert [f["day"] for f in merged["failures"]] == ["2024-01-04"]
    assert merged["days_planned"] == 4


def test_a_record_of_another_world_or_unreadable_is_replaced():
    nightly = _record(["2024-01-02"])
    other = _record(["2024-01-01"], fingerprint="other")  # the lake was overwritten since
    assert merge_run_record(nightly, json.dumps(other).encode()) is nightly
    assert merge_run_record(nightly, b"{not json") is nightly
