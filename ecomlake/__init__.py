"""ecomlake: deterministic synthetic e-commerce data lakes, rendered per day on Ray.

The public names below are imported on first use, so `import ecomlake` stays cheap (the CLI's
`--version`, and the plan cache, which only needs `__version__`).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "EcomConfig": "ecomlake.config",
    "GenerateOptions": "ecomlake.run.driver",
    "RunResult": "ecomlake.run.driver",
    "RepairResult": "ecomlake.run.repair",
    "VerifyReport": "ecomlake.verify.report",
    "WorldPlan": "ecomlake.plan.world",
    "EcomlakeError": "ecomlake.errors",
    "ConfigError": "ecomlake.errors",
    "load_config": "ecomlake.library",
    "plan_world": "ecomlake.library",
    "render_day": "ecomlake.library",
    "generate": "ecomlake.lakes",
    "repair": "ecomlake.lakes",
    "StatsReport": "ecomlake.stats",
    "TableOptions": "ecomlake.tables.options",
    "read_ray_dataset": "ecomlake.raydata",
    "EcomDatasource": "ecomlake.raydata",
}

__all__ = [
    "ConfigError",
    "EcomConfig",
    "EcomDatasource",
    "EcomlakeError",
    "GenerateOptions",
    "RepairResult",
    "RunResult",
    "StatsReport",
    "TableOptions",
    "VerifyReport",
    "WorldPlan",
    "__version__",
    "generate",
    "load_config",
    "plan_world",
    "read_ray_dataset",
    "render_day",
    "repair",
    "stats",
    "verify",
]

if TYPE_CHECKING:
    from ecomlake.config import EcomConfig
    from ecomlake.errors import ConfigError, EcomlakeError
    from ecomlake.lakes import generate, repair, stats
    from ecomlake.library import load_config, plan_world, render_day
    from ecomlake.plan.world import WorldPlan
    from ecomlake.raydata import EcomDatasource, read_ray_dataset
    from ecomlake.run.driver import GenerateOptions, RunResult
    from ecomlake.run.repair import RepairResult
    from ecomlake.stats import StatsReport
    from ecomlake.tables.options import TableOptions
    from ecomlake.verify.report import VerifyReport


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ecomlake' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(types.ModuleType):
    """`ecomlake.verify` and `ecomlake.stats` stay the functions: importing the packages of the
    same names binds them on this module, which the setters ignore. The packages stay importable
    by name (`from ecomlake.verify.report import ...`), though `import ecomlake.verify.x as y`
    is not."""

    @property
    def verify(self) -> Callable[..., VerifyReport]:
        from ecomlake.lakes import verify

        return verify

    @verify.setter
    def verify(self, package: types.ModuleType) -> None:
        pass

    @property
    def stats(self) -> Callable[..., StatsReport]:
        from ecomlake.lakes import stats

        return stats

    @stats.setter
    def stats(self, package: types.ModuleType) -> None:
        pass


sys.modules[__name__].__class__ = _Package
