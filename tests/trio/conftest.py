"""Trio fixtures: one 15-day raw run of the quick config, a whole-world lookups run, and the same
15 days generated and exported as lakes. Session-scoped so the folder stays well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from trio_helpers import BATCH, END, QUICK, START, TS, generate_lake

from ecomlake.cli.app import run
from ecomlake.config import EcomConfig, load_config
from ecomlake.trio.raw_run import RawRunOptions, run_generator


@pytest.fixture(scope="session")
def quick_cfg() -> EcomConfig:
    return load_config(QUICK)


@pytest.fixture(scope="session")
def raw_dir(tmp_path_factory, quick_cfg) -> Path:
    """run-generator output for START..END (read-only for tests)."""
    root = tmp_path_factory.mktemp("artifacts")
    options = RawRunOptions(artifact_root=str(root), start_date=START, end_date=END)
    return run_generator(quick_cfg, options).run_dir


@pytest.fixture(scope="session")
def lookups_dir(tmp_path_factory, quick_cfg) -> Path:
    """A --generate-lookups-only run over the whole quick world."""
    root = tmp_path_factory.mktemp("lookups")
    options = RawRunOptions(artifact_root=str(root), generate_lookups_only=True)
    return run_generator(quick_cfg, options).run_dir


@pytest.fixture(scope="session")
def generated_lake(tmp_path_factory, quick_cfg) -> Path:
    """`generate` of START..END with pinned lineage and --target-size-mb 16."""
    return generate_lake(quick_cfg, tmp_path_factory.mktemp("gen") / "lake", 16.0)


@pytest.fixture(scope="session")
def exported_lake(tmp_path_factory, raw_dir) -> Path:
    """`export-raw` of the raw run with the same lineage and size as `generated_lake`."""
    target = tmp_path_factory.mktemp("exp") / "lake"
    args = ["--batch-id", BATCH, "--ingestion-ts", TS, "--target-size-mb", "16"]
    assert run(["export-raw", "--source", str(raw_dir), "--target", str(target), *args]) == 0
    return target
