"""Inputs at and past what the engine supports (dates before 1970 or past 9999-12-31, seeds
outside 64 bits, wrong types from library callers) fail as one line naming the YAML path or
the option, before anything is planned or written; the obvious conversions are made."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

import ecomlake
from ecomlake import api, lakes
from ecomlake.config import EcomConfig, load_config_text
from ecomlake.config.bounds import SEED_LIMIT
from ecomlake.errors import ConfigError, OptionError
from ecomlake.run.driver import GenerateOptions
from ecomlake.run.window import DayChoice
from ecomlake.tables.options import TableOptions
from ecomlake.trio.raw_run import RawRunOptions

QUICK = Path(__file__).resolve().parents[2] / "gen_config" / "quick.yaml"
D = dt.date
BAD_SEEDS = [-1, SEED_LIMIT, 1.5, "7", True]


@pytest.fixture(scope="module")
def quick_data() -> dict[str, Any]:
    return yaml.safe_load(QUICK.read_text(encoding="utf-8"))


def _config(data: dict, **parameters: Any) -> EcomConfig:
    """quick.yaml with `parameters` replaced (None removes a key)."""
    data = copy.deepcopy(data)
    for key, value in parameters.items():
        if value is None:
            data["parameters"].pop(key)
        else:
            data["parameters"][key] = value
    return load_config_text(yaml.safe_dump(data), "t")


@pytest.fixture(scope="module")
def unpinned(quick_data: dict) -> EcomConfig:
    return _config(quick_data, start_date=None, end_date=None)


# --- the YAML ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "years", "message"),
    [
        ("0001-01-01", "0001-01-03", 1, "parameters.start_date: must be on or after 1970-01-01"),
        ("1969-12-31", "2024-03-31", 1, "parameters.start_date: must be on or after 1970-01-01"),
        ("1970-06-01", "1970-12-31", 1, "parameters.end_date: the window end must be on or after 1971-01-01"),
        ("2024-01-01", "2024-03-31", 60, "parameters.end_date: the window end must be on or after 2029-12-17"),
    ],
)  # fmt: skip
def test_yaml_window_before_the_supported_days(quick_data, start, end, years, message):
    with pytest.raises(ConfigError) as caught:
        _config(quick_data, start_date=start, end_date=end, signup_years=years)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_yaml_window_at_the_supported_bounds_loads(quick_data):
    """The earliest end: signups fill the 365 days from 1970-01-01, none before."""
    cfg = _config(quick_data, start_date="1970-01-01", end_date="1971-01-01")
    assert cfg.parameters.pinned_window() == (D(1970, 1, 1), D(1971, 1, 1))
    late = _config(quick_data, start_date="9999-12-01", end_date="9999-12-31")
    assert late.parameters.pinned_window()[1] == dt.date.max


@pytest.mark.parametrize("seed", BAD_SEEDS)
def test_yaml_seed_is_a_64_bit_whole_number(quick_data, seed):
    data = {**quick_data, "faker_seed": seed}
    with pytest.raises(
        ConfigError, match=r"^faker_seed: must be a whole number from 0 to 2\*\*64 - 1"
    ):
        load_config_text(yaml.safe_dump(data), "t")  # fmt: skip
    with pytest.raises(ConfigError, match=r"^faker_seed: "):
        ecomlake.load_config(data)  # a dict is checked like the YAML


def test_yaml_seed_bounds_load(quick_data):
    for seed in (0, SEED_LIMIT - 1):
        assert (
            load_config_text(yaml.safe_dump({**quick_data, "faker_seed": seed})).faker_seed == seed
        )


# --- the dates of a run (DayChoice: generate, doctor, run-generator, export-raw) ----------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_date": D(1, 1, 1), "days": 3}, "O.start_date: 0001-01-01 is before 1970-01-01"),
        ({"dates": (D(2024, 1, 1), D(1969, 12, 31))}, "O.dates: 1969-12-31 is before 1970-01-01"),
        ({"ingest_date": D(1969, 1, 1)}, "O.ingest_date: 1969-01-01 is before 1970-01-01"),
        ({"days": 0, "dates": (D(2024, 1, 1),)}, "O.days: must be at least 1, got 0"),
        ({"days": 0, "start_date": D(2024, 1, 1)}, "O.days: must be at least 1, got 0"),
    ],
)
def test_day_choice_refuses_days_before_1970(kwargs, message):
    with pytest.raises(OptionError) as caught:
        DayChoice("O", **kwargs)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("days", [2, 2_000_000_000, 10**20])
def test_days_past_9999_12_31_are_an_error_not_an_overflow(days):
    with pytest.raises(
        OptionError, match=rf"^O.days: {days} days from 9999-12-31 run past 9999-12-31$"
    ):
        DayChoice("O", start_date=D(9999, 12, 31), days=days).alone()  # fmt: skip


@pytest.mark.parametrize("days", [200, 2_000_000_000, 10**20])
def test_days_back_from_a_pinned_end_name_days_and_the_yaml(quick_data, days):
    cfg = _config(quick_data)
    with pytest.raises(OptionError) as caught:
        DayChoice("O", days=days).window(cfg, D(2030, 1, 1))
    assert str(caught.value) == (
        f"O.days: {days} days up to 2024-03-31 start before the world window 2024-01-01..2024-03-31 "
        "pinned by the YAML (parameters.start_date, parameters.end_date)"
    )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"start_date": D(9999, 12, 31)}, "start_date"), ({"end_date": D(2025, 1, 1)}, "end_date"),
     ({"start_date": D(9999, 12, 31), "days": 2}, "start_date")],
)  # fmt: skip
def test_a_flag_outside_a_pinned_window_names_itself_and_the_yaml(quick_data, kwargs, name):
    with pytest.raises(OptionError) as caught:
        DayChoice("O", **kwargs).window(_config(quick_data), D(2030, 1, 1))
    value = next(iter(kwargs.values()))
    assert str(caught.value) == (
        f"O.{name}: {value} is outside the world window 2024-01-01..2024-03-31 pinned by the YAML "
        "(parameters.start_date, parameters.end_date)"
    )


def test_unpinned_window_must_leave_room_for_signups(unpinned):
    choice = DayChoice("O", D(1970, 6, 1), D(1970, 6, 5))
    with pytest.raises(
        OptionError,
        match=r"^O.end_date: the window end must be on or after 1971-01-01 \(got 1970-06-05\)",
    ):
        choice.world(unpinned, D(2030, 1, 1))  # fmt: skip
    assert DayChoice("O", D(1971, 1, 1), D(1971, 1, 1)).world(unpinned, D(2030, 1, 1))[2]


def test_unpinned_window_up_to_today_checks_order_days_back(quick_data):
    cfg = _config(quick_data, start_date=None, end_date=None, order_days_back=99_999_999)
    with pytest.raises(
        OptionError, match=r"^parameters.order_days_back: the 99999999 days up to today"
    ):
        DayChoice("O").world(cfg, D(2026, 1, 1))  # fmt: skip
    old = _config(quick_data, start_date=None, end_date=None, signup_years=60)
    with pytest.raises(
        OptionError,
        match=r"^parameters.signup_years: the window end must be on or after 2029-12-17",
    ):
        DayChoice("O").world(old, D(2026, 1, 1))  # fmt: skip


# --- GenerateOptions and the library's entry points --------------------------------------------


@pytest.mark.parametrize("seed", BAD_SEEDS)
def test_options_seed_shares_the_yaml_rule(seed):
    with pytest.raises(
        OptionError, match=r"^GenerateOptions.seed: must be a whole number from 0 to 2\*\*64 - 1"
    ):
        GenerateOptions(seed=seed)  # fmt: skip
    with pytest.raises(OptionError, match=r"^RawRunOptions.seed: must be a whole number"):
        RawRunOptions(seed=seed)
    with pytest.raises(ConfigError, match=r"^seed: must be a whole number"):
        ecomlake.plan_world(QUICK, seed=seed)


def test_options_make_the_obvious_conversions(tmp_path):
    options = GenerateOptions(
        target=tmp_path / "lake",
        start_date="2024-02-15",
        dates=["2024-02-16"],
        storage_options=None,
    )
    assert options.target == str(tmp_path / "lake")
    assert options.start_date == D(2024, 2, 15) and options.dates == (D(2024, 2, 16),)
    assert options.storage_options == {} and GenerateOptions(tables=None).tables == TableOptions()
    assert GenerateOptions(seed=SEED_LIMIT - 1).seed == SEED_LIMIT - 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dates": "2024-02-15"}, "GenerateOptions.dates: expected a list of dates"),
        ({"dates": D(2024, 2, 15)}, "GenerateOptions.dates: expected a list of dates"),
        ({"dates": (dt.datetime(2024, 2, 15),)}, "GenerateOptions.dates: expected a date like"),
        ({"start_date": "20240215"}, "GenerateOptions.start_date: expected a date like"),
        ({"end_date": 5}, "GenerateOptions.end_date: expected a date like"),
        ({"days": "2"}, "GenerateOptions.days: expected a whole number or None, got '2'"),
        ({"target_size_mb": "5"}, "GenerateOptions.target_size_mb: expected a number, got '5'"),
        ({"storage_options": ["a=b"]}, "GenerateOptions.storage_options: expected a dict or None"),
        ({"tables": "iceberg"}, "GenerateOptions.tables: expected a TableOptions, e.g. TableOptions('iceberg')"),
        ({"hooks": "mod:fn"}, "GenerateOptions.hooks: expected a list of text"),
        ({"target": None}, "GenerateOptions.target: expected a path or URI"),
        ({"overwrite": "yes"}, "GenerateOptions.overwrite: expected True or False"),
    ],
)  # fmt: skip
def test_options_of_the_wrong_type_name_their_field(kwargs, message):
    with pytest.raises(OptionError) as caught:
        GenerateOptions(**kwargs)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_days_zero_names_days(tmp_path):
    for kwargs in ({}, {"start_date": D(2024, 1, 2)}, {"dates": (D(2024, 1, 2),)}):
        with pytest.raises(OptionError, match=r"^GenerateOptions.days: must be at least 1, got 0$"):
            ecomlake.generate(QUICK, GenerateOptions(days=0, **kwargs), target=tmp_path / "lake")
    assert not (tmp_path / "lake").exists()


def test_entry_points_take_a_path_target(tmp_path, monkeypatch):
    """The pytest plugin's lakes are Paths: verify, stats and repair take them as text."""
    seen = []
    monkeypatch.setattr(api, "verify_lake", lambda target, *a, **k: seen.append(target))
    monkeypatch.setattr(lakes, "stats_lake", lambda target, *a, **k: seen.append(target))
    monkeypatch.setattr(api, "repair_lake", lambda options, *a: seen.append(options.target))
    ecomlake.verify(tmp_path)
    ecomlake.stats(tmp_path)
    ecomlake.repair(GenerateOptions(target=tmp_path))
    assert seen == [str(tmp_path)] * 3
    with pytest.raises(
        OptionError, match=r"^target: expected a path or URI as text or pathlib.Path, got 5$"
    ):
        ecomlake.verify(5)  # fmt: skip


def test_repair_without_options_names_the_argument():
    with pytest.raises(
        OptionError,
        match=r"^options: expected a GenerateOptions \(its target names the lake\), got None$",
    ):
        ecomlake.repair(None)  # fmt: skip


@pytest.fixture(scope="module")
def world():
    return ecomlake.plan_world(QUICK)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((None,), {}, "day: expected a date like 2024-01-05, got None"),
        (("20240215",), {}, "day: expected a date like 2024-01-05, got '20240215'"),
        (("2024-02-15",), {"tables": 5}, "tables: expected a table name or a list of them, got 5"),
        (
            ("2024-02-15",),
            {"tables": ["orders", 5]},
            "tables: expected a table name or a list of them",
        ),
    ],
)
def test_render_day_bad_arguments(world, args, kwargs, message):
    with pytest.raises(ConfigError) as caught:
        ecomlake.render_day(world, *args, **kwargs)
    assert str(caught.value).startswith(message)


def test_render_day_wants_a_planned_world():
    rule = r"^world: expected the WorldPlan of plan_world\(config\), got '.*quick.yaml'$"
    with pytest.raises(ConfigError, match=rule):
        ecomlake.render_day(str(QUICK), "2024-02-15")
    with pytest.raises(ConfigError, match=r"^world: expected the WorldPlan .*, got a dict$"):
        ecomlake.render_day({}, "2024-02-15")


def test_plan_world_names_its_own_arguments(quick_data):
    with pytest.raises(ConfigError, match=r"^end: the window end must be on or after 1971-01-01"):
        ecomlake.plan_world(_config(quick_data, start_date=None, end_date=None), start="1970-01-01", end="1970-02-01")  # fmt: skip
