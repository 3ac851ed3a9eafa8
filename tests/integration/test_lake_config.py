"""The lake keeps the config it was made with, so verify and repair can plan it from the lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecomlake.config import load_config
from ecomlake.config.fingerprint import config_fingerprint
from ecomlake.errors import ConfigError
from ecomlake.lake import resolve_target
from ecomlake.lake.identity import CONFIG_FILE, read_identity, read_lake_config, write_lake_config

REPO = Path(__file__).resolve().parents[2]


def test_stored_config_plans_the_same_world(quick_lake, quick_config) -> None:
    loc = resolve_target(str(quick_lake))
    stored = read_lake_config(loc)
    assert stored is not None
    assert config_fingerprint(stored) == config_fingerprint(quick_config)
    assert read_identity(loc).config_fingerprint == config_fingerprint(stored)


@pytest.mark.parametrize("name", ["quick.yaml", "backlog.yaml", "template.yaml", "daily.yaml"])
def test_every_shipped_config_round_trips(tmp_path, name) -> None:
    cfg = load_config(REPO / "gen_config" / name)
    loc = resolve_target(str(tmp_path))
    write_lake_config(loc, cfg)
    assert config_fingerprint(read_lake_config(loc)) == config_fingerprint(cfg)


def test_no_stored_config_is_none_and_a_damaged_one_names_the_file(tmp_path) -> None:
    loc = resolve_target(str(tmp_path))
    assert read_lake_config(loc) is None
    (tmp_path / CONFIG_FILE).write_text("parameters: [unclosed\n")
    with pytest.raises(ConfigError, match=CONFIG_FILE):
        read_lake_config(loc)


def test_a_run_failing_before_it_wrote_data_leaves_the_target_free(tmp_path, monkeypatch):
    """The identity files go first (a crash mid-run must not let another config in), so one
    that fails while planning takes them back: a corrected run is not refused."""
    import datetime as dt

    from ecomlake.api import generate
    from ecomlake.run import driver

    def out_of_memory(*args, **kwargs):
        raise MemoryError("planning")

    options = driver.GenerateOptions(
        target=str(tmp_path / "lake"),
        start_date=dt.date(2024, 1, 1),
        end_date=dt.date(2024, 1, 2),
        executor="in-process",
    )
    cfg = load_config(REPO / "gen_config" / "quick.yaml")
    with monkeypatch.context() as patched:
        patched.setattr(driver, "_plan_while_starting", out_of_memory)
        with pytest.raises(MemoryError):
            generate(cfg, options)
    assert not [p for p in (tmp_path / "lake").iterdir() if p.name != "_runs"]
    other = cfg.model_copy(update={"faker_seed": 7})
    assert generate(other, options).ok


def test_a_lake_whose_config_leaves_columns_out_verifies_and_stats_says_what_it_needs(tmp_path):
    """A config may leave any column but a key out of a table; verify failed such a lake with
    DuckDB binder errors and stats ended in a traceback. The rules that need a left-out column
    are skipped, naming it; stats refuses in one line."""
    import datetime as dt

    import yaml

    import ecomlake
    from ecomlake.api import generate, verify
    from ecomlake.run.driver import GenerateOptions
    from ecomlake.stats import stats_lake

    data = yaml.safe_load((REPO / "gen_config" / "quick.yaml").read_text())
    leave_out = {"orders": {"email", "agent_id"}, "customers": {"signup_channel"}}
    for table in data["tables"]:
        drop = leave_out.get(table["name"], set())
        table["columns"] = [c for c in table["columns"] if c["name"] not in drop]
    lake = tmp_path / "lake"
    days = tuple(dt.date(2024, 1, d) for d in range(1, 6))
    options = GenerateOptions(target=str(lake), executor="in-process", dates=days)
    assert generate(ecomlake.load_config(data), options).ok
    report = verify(str(lake))
    assert report.ok, report.to_text()
    skipped = [s for s in report.skipped if "which the lake's config leaves out" in s]
    assert any(s.startswith("returns.copied_from_order: needs orders.email") for s in skipped)
    assert any(s.startswith("agents.orders: needs orders.agent_id") for s in skipped)
    with pytest.raises(ConfigError, match=r"the report needs customers\.signup_channel, which"):
        stats_lake(str(lake))
