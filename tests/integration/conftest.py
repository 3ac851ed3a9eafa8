"""Integration fixtures: the quick-config lake, generated once per session, and fresh copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecomlake.api import generate
from ecomlake.config import EcomConfig, load_config
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[2]
QUICK_CONFIG = REPO / "gen_config" / "quick.yaml"


@pytest.fixture(scope="session")
def quick_config() -> EcomConfig:
    """The validated quick config (one pinned quarter, ~2,000 customers)."""
    return load_config(QUICK_CONFIG)


@pytest.fixture(scope="session")
def quick_lake(tmp_path_factory, quick_config) -> Path:
    """The whole quick-config lake, in-process, pinned lineage; read-only for tests."""
    root = tmp_path_factory.mktemp("quick") / "lake"
    options = GenerateOptions(
        target=str(root),
        executor="in-process",
        batch_id="test",
        ingestion_ts="2024-04-01T00:00:00+00:00",
    )
    result = generate(quick_config, options)
    assert result.ok, result.failures
    return root


@pytest.fixture
def lake_copy(quick_lake, tmp_path) -> Path:
    """A private copy of the quick lake that a test may corrupt."""
    return Path(shutil.copytree(quick_lake, tmp_path / "lake"))
