"""Fixtures for the messiness tests: the quick world, rendered clean once."""

from __future__ import annotations

import pytest
from mess_helpers import QUICK, Rendered, all_days, build, dirty, render_days

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


@pytest.fixture(scope="session")
def by_level(whole_quick):
    """Each level's (clean, dirty, log) list of the whole quick world, computed once."""
    cache: dict[str, list] = {}

    def get(name: str) -> list:
        if name not in cache:
            cache[name] = dirty(whole_quick, name)
        return cache[name]

    return get
