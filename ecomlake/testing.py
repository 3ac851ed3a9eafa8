"""A pytest plugin for users' own suites: a world plan once per session, then a day's tables or
a small lake in `tmp_path` per test, in well under a second once the plan (and, for a lake, its
first generation in the session) is cached.

Enable it with `pytest_plugins = ["ecomlake.testing"]` in a `conftest.py` (installing ecomlake
also registers it through the `pytest11` entry point), and name the world's YAML config in the
pytest ini file (`ecomlake_config = gen_config/quick.yaml`, relative to the rootdir) or override
the `ecomlake_config` fixture. Heavy imports wait for the first fixture, so loading the plugin
costs a suite nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pyarrow as pa

    from ecomlake.config import EcomConfig
    from ecomlake.plan.world import WorldPlan

INI_CONFIG = "ecomlake_config"
BATCH_ID = "test"  # pinned lineage: the same lake bytes in every test run
INGESTION_TS = "2024-01-01T00:00:00+00:00"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_CONFIG, "YAML config of the ecomlake fixtures' world (rootdir-relative)")


@pytest.fixture(scope="session")
def ecomlake_config(pytestconfig: pytest.Config) -> EcomConfig:
    """The config named by the `ecomlake_config` ini option; override it to build one in code."""
    from ecomlake.library import load_config

    name = pytestconfig.getini(INI_CONFIG)
    if not name:
        raise pytest.UsageError(
            f"{INI_CONFIG}: name the world's YAML config in the pytest ini file, "
            "or override the ecomlake_config fixture"
        )
    return load_config(pytestconfig.rootpath / name)


@pytest.fixture(scope="session")
def ecomlake_world(ecomlake_config: EcomConfig) -> WorldPlan:
    """The world plan, planned once per session (a file read once the plan cache has it)."""
    from ecomlake.library import plan_world

    return plan_world(ecomlake_config)


@pytest.fixture
def ecomlake_day(ecomlake_world: WorldPlan) -> Callable[..., dict[str, pa.Table]]:
    """`make(day=None, tables=None, messiness_level="none")`: a day's tables (`render_day`);
    the world's first day by default."""
    from ecomlake.library import render_day
    from ecomlake.plan.calendar import day_date

    def make(
        day: str | dt.date | None = None,
        tables: Sequence[str] | None = None,
        messiness_level: str = "none",
    ) -> dict[str, pa.Table]:
        chosen = day_date(ecomlake_world.start_day) if day is None else day
        return render_day(ecomlake_world, chosen, tables, messiness_level)

    return make


@pytest.fixture(scope="session")
def ecomlake_lakes(
    ecomlake_config: EcomConfig, ecomlake_world: WorldPlan, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """`make(start=None, days=1, messiness_level="none")`: the session's read-only lake of `days`
    days from `start` (the world's first day by default), generated once, lineage pinned."""
    from ecomlake.api import generate
    from ecomlake.errors import EcomlakeError
    from ecomlake.library import as_date
    from ecomlake.plan.calendar import day_date
    from ecomlake.run.driver import GenerateOptions

    made: dict[tuple[dt.date, int, str], tuple[Path, dict[str, tuple[int, int]]]] = {}

    def make(
        start: str | dt.date | None = None, days: int = 1, messiness_level: str = "none"
    ) -> Path:
        first = as_date(start, "start") or day_date(ecomlake_world.start_day)
        key = (first, days, messiness_level)
        if key in made:
            target, state = made[key]
            if _file_state(target) == state:
                return target
            warnings.warn(  # a test changed it: later tests must not inherit the damage
                f"ecomlake_lakes: the session lake {target} was changed by a test (use "
                "ecomlake_lake for a private copy); generating it again",
                stacklevel=2,
            )
        target = tmp_path_factory.mktemp("ecomlake") / f"lake-{first}-{days}-{messiness_level}"
        options = GenerateOptions(
            target=str(target),
            start_date=first,
            end_date=first + dt.timedelta(days=days - 1),
            seed=ecomlake_world.seed,
            executor="in-process",
            batch_id=BATCH_ID,
            ingestion_ts=INGESTION_TS,
            messiness_level=messiness_level,
        )
        result = generate(ecomlake_config, options)
        if not result.ok:
            raise EcomlakeError(f"ecomlake_lakes: the lake in {target} failed: {result.failures}")
        made[key] = (target, _file_state(target))
        return target

    return make


def _file_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file's (size, mtime): a lake of a few days has a few hundred, a millisecond's walk."""
    state = {}
    for path in root.rglob("*"):
        with contextlib.suppress(OSError):
            info = path.lstat()
            state[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return state


@pytest.fixture
def ecomlake_lake(ecomlake_lakes: Callable[..., Path], tmp_path: Path) -> Callable[..., Path]:
    """`make(start=None, days=1, messiness_level="none")`: a private copy of that lake in
    `tmp_path`, which the test may change; each lake is generated once per session (a run
    starting mid-world also writes every earlier customer partition: seconds, not a copy's
    fraction of one)."""

    def make(
        start: str | dt.date | None = None, days: int = 1, messiness_level: str = "none"
    ) -> Path:
        source = ecomlake_lakes(start, days, messiness_level)
        return Path(shutil.copytree(source, tmp_path / source.name))

    return make
