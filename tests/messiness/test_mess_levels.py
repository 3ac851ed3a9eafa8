"""Levels: presets, YAML overrides validated as `yaml.path: rule`, and the run fingerprint."""

from __future__ import annotations

import pytest
import yaml
from mess_helpers import QUICK

from ecomlake.cli.flags import cli_message
from ecomlake.config import config_fingerprint, load_config_text
from ecomlake.errors import ConfigError, OptionError
from ecomlake.messiness import PRESETS, resolve_level, run_fingerprint
from ecomlake.rng import streams


def _with_messiness(block: object) -> str:
    data = yaml.safe_load(QUICK.read_text())
    data["messiness"] = block
    return yaml.safe_dump(data, sort_keys=False)


class TestLevels:
    def test_presets_are_the_reference_rates(self):
        rates = {n: (p.whitespace, p.casing, p.nulls) for n, p in PRESETS.items()}
        assert rates == {
            "light_mess": (0.05, 0.05, 0.02),
            "medium_mess": (0.08, 0.08, 0.04),
            "heavy_mess": (0.15, 0.15, 0.08),
        }
        assert [PRESETS[n].sales_spike_factor for n in PRESETS] == [1.0, 1.5, 2.0]
        assert [PRESETS[n].reason_bias for n in PRESETS] == [0.0, 0.25, 0.5]

    def test_clean_levels_resolve_to_nothing(self, mess_config):
        assert resolve_level(mess_config, "none") is None
        assert resolve_level(mess_config, "baseline") is None

    def test_unknown_level_names_the_option(self, mess_config):
        with pytest.raises(OptionError, match=r"^messiness_level: must be one of") as caught:
            resolve_level(mess_config, "chaos")
        assert cli_message(caught.value).startswith("--messiness-level: must be one of")

    def test_yaml_overrides_only_what_it_sets(self):
        cfg = load_config_text(_with_messiness({"heavy_mess": {"whitespace": 0.3}}))
        level = resolve_level(cfg, "heavy_mess")
        assert level.whitespace == 0.3 and level.casing == 0.15 and level.nulls == 0.08
        assert resolve_level(cfg, "light_mess") == PRESETS["light_mess"]

    @pytest.mark.parametrize(
        ("block", "message"),
        [
            ({"heavy_mess": {"whitespace": 1.5}}, "messiness.heavy_mess.whitespace: must be between 0 and 1"),
            ({"light_mess": {"nulls": -0.1}}, "messiness.light_mess.nulls: must be between 0 and 1"),
            ({"medium_mess": {"sales_spike_factor": -2}}, "messiness.medium_mess.sales_spike_factor: must not be negative"),
            ({"medium_mess": {"casing": None}}, "messiness.medium_mess.casing: must be a number"),
            ({"extreme_mess": {}}, "messiness.extreme_mess: unknown key"),
            ({"heavy_mess": {"whitespaces": 0.1}}, "messiness.heavy_mess.whitespaces: unknown key"),
            ({"heavy_mess": {"typos": 2}}, "messiness.heavy_mess.typos: must be between 0 and 1"),
            ({"light_mess": {"late_max_days": 0}}, "messiness.light_mess.late_max_days: must be at least 1"),
            ({"light_mess": {"late_max_days": 31}}, "messiness.light_mess.late_max_days: must be at most 30"),
            ({"medium_mess": {"orphan_fk": None}}, "messiness.medium_mess.orphan_fk: must be a number"),
        ],
    )  # fmt: skip
    def test_bad_rates_are_one_line_yaml_errors(self, block, message):
        with pytest.raises(ConfigError) as info:
            load_config_text(_with_messiness(block))
        assert message in str(info.value) and "\n" not in str(info.value)

    def test_every_new_rate_can_be_set(self):
        block = {"duplicates": 0.1, "near_duplicates": 0.2, "typos": 0.3, "format_drift": 0.4,
                 "late_arrival": 0.5, "late_max_days": 7, "orphan_fk": 0.6, "out_of_range": 0.7,
                 "stale_dimension": 0.8}  # fmt: skip
        level = resolve_level(
            load_config_text(_with_messiness({"light_mess": block})), "light_mess"
        )
        assert {k: getattr(level, k) for k in block} == block

    def test_copies_over_one_are_refused_when_resolved(self):
        cfg = load_config_text(_with_messiness({"heavy_mess": {"duplicates": 0.99}}))
        with pytest.raises(
            ConfigError, match=r"messiness\.heavy_mess: duplicates \+ near_duplicates"
        ):
            resolve_level(cfg, "heavy_mess")


class TestFingerprint:
    def test_clean_fingerprint_ignores_the_block(self, mess_config):
        cfg = load_config_text(_with_messiness({"heavy_mess": {"whitespace": 0.3}}))
        assert config_fingerprint(cfg) == config_fingerprint(mess_config)
        assert run_fingerprint(cfg, "none") == run_fingerprint(mess_config, "baseline")
        assert run_fingerprint(mess_config, "none") == config_fingerprint(mess_config)

    def test_messy_fingerprints_differ_by_level_and_rates(self, mess_config):
        tuned = load_config_text(_with_messiness({"heavy_mess": {"whitespace": 0.3}}))
        prints = {
            run_fingerprint(mess_config, "none"),
            run_fingerprint(mess_config, "light_mess"),
            run_fingerprint(mess_config, "medium_mess"),
            run_fingerprint(mess_config, "heavy_mess"),
            run_fingerprint(tuned, "heavy_mess"),
        }
        assert len(prints) == 5
        assert run_fingerprint(tuned, "light_mess") == run_fingerprint(mess_config, "light_mess")


def test_mess_streams_are_named_once():
    names = [v for k, v in streams.all_streams().items() if k.startswith("MESS_")]
    assert len(names) == len(set(names)) >= 8
    assert all(name.startswith("mess.") for name in names)


def test_the_cli_run_keeps_the_yamls_overrides(tmp_path, capsys):
    """`generate` validates its config model again, and that dump left `messiness` out (it is
    excluded from the fingerprint): the overrides were dropped, the lake got the preset rates,
    and `run-generator` of the same YAML made other data."""
    import json

    import ecomlake
    from ecomlake.cli.app import run

    config = tmp_path / "over.yaml"
    config.write_text(_with_messiness({"heavy_mess": {"whitespace": 0.9, "late_arrival": 0}}))
    assert ecomlake.load_config(ecomlake.load_config(config)).messiness is not None
    lake = tmp_path / "lake"
    args = ["generate", "-c", str(config), "-t", str(lake), "--dates", "2024-01-05",
            "--messiness-level", "heavy_mess", "--executor", "in-process", "--no-progress"]  # fmt: skip
    assert run(args) == 0
    rates = json.loads((lake / "_lake.json").read_text())["messiness"]
    assert (rates["whitespace"], rates["late_arrival"]) == (0.9, 0.0)
    stored = yaml.safe_load((lake / "_config.yaml").read_text())
    assert stored["messiness"] == {"heavy_mess": {"whitespace": 0.9, "late_arrival": 0.0}}
