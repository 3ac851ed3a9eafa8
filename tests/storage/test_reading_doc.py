"""The Python block of docs/reading.md runs as written against an Iceberg lake, whose table
folders also hold `metadata/`, and each reader gets exactly the table's rows."""

from __future__ import annotations

import re
from pathlib import Path

from ecomlake.api import generate
from ecomlake.tables import TableOptions

from .lakes import START, tiny_config, world_options
from .tables_readers import hive_rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "reading.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_reading_examples_run_on_an_iceberg_lake(tmp_path, monkeypatch):
    [block] = _BLOCK.findall(DOC.read_text(encoding="utf-8"))
    lake = tmp_path / "lake"
    days = {"dates": (START,), "start_date": None, "end_date": None}
    assert generate(
        tiny_config(), world_options(str(lake), tables=TableOptions("iceberg"), **days)
    ).ok
    assert (lake / "customers" / "metadata").is_dir()
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(block, str(DOC), "exec"), names)
    expected = hive_rows(str(lake), "customers").num_rows
    assert expected > 0
    assert len(names["df"]) == names["table"].num_rows == names["frame"].height == expected
    assert names["rel"].count("*").fetchall() == [(expected,)]
