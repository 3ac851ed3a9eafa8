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
