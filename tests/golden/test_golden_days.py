"""Golden bytes: each table's encoded Parquet of three quick-world days, clean and heavy_mess.

A difference means the bytes a seed gives have changed. If that is on purpose, re-pin with
`python scripts/regen_golden.py` and say why in the commit message; never edit the JSON.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _regen():
    spec = importlib.util.spec_from_file_location("regen_golden", REPO / "scripts/regen_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regen():
    return _regen()


def test_golden_file_is_sealed(regen):
    body = json.loads(regen.GOLDEN.read_text(encoding="utf-8"))
    assert body == regen.seal(body["digests"]), "edited by hand: re-pin with the script"
    assert set(body["digests"]) == set(regen.LEVELS)
    for level in regen.LEVELS:
        assert set(body["digests"][level]) == set(regen.DAYS)


@pytest.mark.slow
def test_days_encode_to_the_pinned_bytes(regen):
    pinned = json.loads(regen.GOLDEN.read_text(encoding="utf-8"))["digests"]
    now = regen.day_digests()
    for level, days in pinned.items():
        for day, tables in days.items():
            for table, digest in tables.items():
                assert now[level][day][table] == digest, f"{level} {day} {table}: bytes changed"
    assert now == pinned
