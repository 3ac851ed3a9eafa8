"""Small clean lakes for the stats tests: quick.yaml over one pinned month, a few seeds; over
a year; and over some days of its quarter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from ecomlake.api import generate
from ecomlake.config import EcomConfig
from ecomlake.config.load import load_config_text
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[2]
QUICK_CONFIG = REPO / "gen_config" / "quick.yaml"


def quick_config(start: str, **replacements: str) -> EcomConfig:
    """quick.yaml pinned to `start`..2024-03-31, with `old=new` text replacements of its knobs."""
    text = QUICK_CONFIG.read_text()
    text = text.replace("start_date: 2024-01-01", f"start_date: {start}")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return load_config_text(text, f"quick.yaml ({start} to 2024-03-31)")


def month_config(**replacements: str) -> EcomConfig:
    """quick.yaml pinned to March 2024."""
    return quick_config("2024-03-01", **replacements)


def write_lake(root: Path, cfg: EcomConfig, seed: int, **options: object) -> Path:
    """Generate `cfg` in-process into `root` (a fixed batch and ingestion time)."""
    settings = GenerateOptions(
        target=str(root),
        executor="in-process",
        seed=seed,
        batch_id="stats",
        ingestion_ts="2024-04-01T00:00:00+00:00",
        **options,
    )
    result = generate(cfg, settings)
    assert result.ok, result.failures
    return root


@pytest.fixture(scope="session")
def make_lake(tmp_path_factory) -> Callable[..., Path]:
    """`make_lake(seed, level)`: the March lake of that seed and messiness level, generated
    once per session."""
    made: dict[tuple[int, str], Path] = {}

    def make(seed: int, level: str = "none") -> Path:
        if (seed, level) not in made:
            root = tmp_path_factory.mktemp(f"stats-{seed}-{level}") / "lake"
            made[(seed, level)] = write_lake(root, month_config(), seed, messiness_level=level)
        return made[(seed, level)]

    return make


@pytest.fixture(scope="session")
def partial_lake(tmp_path_factory) -> Path:
    """The quarter of quick.yaml, seed 1, holding only its days from 2024-02-01 on."""
    root = tmp_path_factory.mktemp("stats-partial") / "lake"
    days = {"start_date": dt.date(2024, 2, 1), "end_date": dt.date(2024, 3, 31)}
    return write_lake(root, quick_config("2024-01-01"), 1, **days)
