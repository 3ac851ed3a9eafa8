"""`generate`, `repair`, `verify` and `stats` as the library exports them: the CLI's own
(ecomlake.api, ecomlake.stats), with bad input named as a library caller wrote it. A check that
several commands share (the target, the Ray address, the compression) names its option as a
plain argument, `target`; generate and repair name the ones GenerateOptions holds as its
fields, `GenerateOptions.target`. (The CLI shows its flags instead: cli/flags.py.)
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import TypeVar

from ecomlake import api
from ecomlake.errors import OptionError
from ecomlake.library import ConfigLike, load_config
from ecomlake.run.driver import GenerateOptions
from ecomlake.run.fieldcheck import FieldCheck, path_text
from ecomlake.stats import StatsReport, stats_lake
from ecomlake.stats.replicates import DEFAULT_REPLICATES, check_replicates
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT, check_memory_limit

_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(GenerateOptions))
F = TypeVar("F", bound=Callable)


def _named_as_options(function: F) -> F:
    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except OptionError as exc:
            raise exc.owned_by("GenerateOptions", _OPTION_FIELDS) from None

    return call  # type: ignore[return-value]


generate = _named_as_options(api.generate)
repair = _named_as_options(api.repair)
verify = api.verify


def stats(
    target: str | os.PathLike,
    config: ConfigLike | None = None,
    storage_options: dict | None = None,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    replicates: int = DEFAULT_REPLICATES,
) -> StatsReport:
    """Each knob of the lake at `target`: configured, expected in its window, realized (see
    docs/stats.md); `config` defaults to the one the lake stores. `replicates` plan worlds give
    the visit model's rows their expectation and spread."""
    target = path_text("", "target", target)
    args = SimpleNamespace(storage_options=storage_options)
    FieldCheck("", args).mapping("storage_options")
    cfg = None if config is None else load_config(config)
    check_memory_limit(memory_limit)
    check_replicates(replicates)
    return stats_lake(
        target, cfg, args.storage_options, memory_limit=memory_limit, replicates=replicates
    )
