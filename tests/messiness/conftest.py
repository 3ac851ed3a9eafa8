"""Fixtures for the messiness tests: the quick world, rendered clean once."""

from __future__ import annotations

import pytest
from mess_helpers import QUICK, Rendered, all_days, build, render_days

from ecomlake.config import EcomConfig, load_config
from ecomlake.plan.world import WorldPlan


@pytest.fixture(scope="session")
def mess_config() -> EcomConfig:
    return load_config(QUICK)


@pytest.fixture(scope="session")
def mess_world(mess_config) -> WorldPlan:
    return build(mess_config)


@pytest.fixture(scope="session")
def whole_quick(mess_world) -> list[Rendered]:
    """The whole quick world (91 days, ~14k rows), clean."""
    return render_days(mess_world, all_days())
