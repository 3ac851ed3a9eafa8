"""Small clean lakes for the stats tests: quick.yaml over one pinned month, a few seeds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ecomlake.api import generate
from ecomlake.config import EcomConfig
from ecomlake.config.load import load_config_text
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[2]
QUICK_CONFIG = REPO / "gen_config" / "quick.yaml"


def month_config(**replacements: str) -> EcomConfig:
    """quick.yaml pinned to March 2024, with `old=new` text replacements of its knobs."""
    text = QUICK_CONFIG.read_text()
    text = text.replace("start_date: 2024-01-01", "start_date: 2024-03-01")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return load_config_text(text, "quick.yaml (March 2024)")


@pytest.fixture(scope="session")
def make_lake(tmp_path_factory) -> Callable[..., Path]:
    """`make_lake(seed, level)`: the March lake of that seed and messiness level, generated
    once per session."""
    made: dict[tuple[int, str], Path] = {}

    def make(seed: int, level: str = "none") -> Path:
        if (seed, level) not in made:
            root = tmp_path_factory.mktemp(f"stats-{seed}-{level}") / "lake"
            options = GenerateOptions(
                target=str(root),
                executor="in-process",
                seed=seed,
                batch_id="stats",
                ingestion_ts="2024-04-01T00:00:00+00:00",
                messiness_level=level,
            )
            result = generate(month_config(), options)
            assert result.ok, result.failures
            made[(seed, level)] = root
        return made[(seed, level)]

    return make
