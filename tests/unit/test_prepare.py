"""Run preparation: one rule per option, named as the library's field or as the CLI's flag."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import pytest

from ecomlake.cli.flags import cli_message, flag
from ecomlake.config import load_config
from ecomlake.errors import OptionError
from ecomlake.run.prepare import level_for, lineage_for
from ecomlake.run.window import DayChoice

QUICK = Path(__file__).resolve().parents[2] / "gen_config" / "quick.yaml"
DAY = dt.date(2024, 1, 5)


def test_library_names_fields_and_the_cli_names_flags():
    with pytest.raises(OptionError) as caught:
        lineage_for("GenerateOptions", "a b", None, None)
    assert str(caught.value) == (
        "GenerateOptions.batch_id: use letters, digits, '-', '_' or '.', got 'a b'"
    )
    assert (
        cli_message(caught.value) == "--batch-id: use letters, digits, '-', '_' or '.', got 'a b'"
    )


def test_a_rule_naming_several_options_names_each_one():
    with pytest.raises(OptionError) as caught:
        DayChoice("GenerateOptions", start_date=DAY, days=2, dates=(DAY,))
    assert str(caught.value) == (
        "GenerateOptions.dates: cannot be combined with GenerateOptions.start_date, "
        "GenerateOptions.days"
    )
    assert cli_message(caught.value) == "--dates: cannot be combined with --start-date, --days"


def test_option_errors_survive_pickling_as_ray_ships_them():
    error = OptionError(
        "ExportOptions", "{days}: needs {start_date} (got {x})", "days", "start_date"
    )
    back = pickle.loads(pickle.dumps(error))
    assert str(back) == "ExportOptions.days: needs ExportOptions.start_date (got {x})"
    assert cli_message(back) == "--days: needs --start-date (got {x})"


def test_flags_that_are_not_the_field_name():
    assert flag("hooks") == "--post-export-hook" and flag("storage_options") == "--storage-option"
    assert flag("ingestion_ts") == "--ingestion-ts"


def test_lineage_defaults_and_timestamp_rule():
    lineage = lineage_for("O", None, None, "gs://b")
    assert lineage.batch_id.startswith("batch_") and lineage.source_prefix == "gs://b"
    with pytest.raises(OptionError, match=r"^O.ingestion_ts: must be an ISO timestamp"):
        lineage_for("O", "b", "2024-01-01", None)
    for empty in ("", " "):  # would prefix every source_file with nothing
        with pytest.raises(OptionError, match=r"^O.source_prefix: must not be empty"):
            lineage_for("O", "b", None, empty)


def test_one_list_of_levels_resolved_once():
    cfg = load_config(QUICK)
    assert level_for("O", cfg, "baseline").rates is None
    heavy = level_for("O", cfg, "heavy_mess")
    assert heavy.rates is not None and heavy.record()["name"] == "heavy_mess"
    assert heavy.fingerprint(cfg) != level_for("O", cfg, "none").fingerprint(cfg)
    with pytest.raises(OptionError, match=r"^O.messiness_level: must be one of none, baseline"):
        level_for("O", cfg, "chaos")


@pytest.mark.parametrize(
    ("choice", "days"),
    [
        (DayChoice("O"), None),
        (DayChoice("O", DAY), (DAY,)),  # start_date alone: that one day
        (DayChoice("O", DAY, days=3), (DAY, DAY + dt.timedelta(1), DAY + dt.timedelta(2))),
        (DayChoice("O", ingest_date=DAY), (DAY,)),
        (DayChoice("O", dates=(DAY, DAY)), (DAY,)),
    ],
)
def test_dates_without_a_world(choice, days):
    assert choice.alone() == days


def test_days_inside_a_world():
    first, last = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
    assert DayChoice("O", days=2).in_world(first, last) == [last - dt.timedelta(1), last]
    assert DayChoice("O", DAY, days=2).in_world(first, last) == [DAY, DAY + dt.timedelta(1)]
    with pytest.raises(OptionError, match=r"^O.dates: 2023-12-31 is outside the world window"):
        DayChoice("O", dates=(dt.date(2023, 12, 31),)).in_world(first, last)
