"""`generate`, `repair`, `verify` and `stats` as the library exports them: the CLI's own
(ecomlake.api, ecomlake.stats), with bad input named as a library caller wrote it,
`GenerateOptions.batch_id` or `memory_limit`, not as the `--batch-id` or `--memory-limit` flag
the CLI user typed.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import TypeVar

from ecomlake import api
from ecomlake.errors import ConfigError
from ecomlake.library import ConfigLike, load_config
from ecomlake.run.driver import GenerateOptions
from ecomlake.stats import StatsReport, stats_lake
from ecomlake.stats.replicates import DEFAULT_REPLICATES, check_replicates
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT, check_memory_limit

_FLAG = re.compile(r"--([a-z][a-z-]*)")
_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(GenerateOptions))
F = TypeVar("F", bound=Callable)


def name_fields(message: str, fields: frozenset[str], owner: str) -> str:
    """`message` with each CLI flag that sets one of `fields` named `owner.field` (`field` when
    `owner` is empty); a flag without a field (e.g. `--config`) stays as it is."""

    def field(match: re.Match) -> str:
        name = match.group(1).replace("-", "_")
        for candidate in (name, f"{name}s"):  # --storage-option fills storage_options
            if candidate in fields:
                return f"{owner}.{candidate}" if owner else candidate
        return match.group(0)

    return _FLAG.sub(field, message)


def _naming(fields: frozenset[str], owner: str) -> Callable[[F], F]:
    def wrap(function: F) -> F:
        @functools.wraps(function)
        def call(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except ConfigError as exc:
                raise ConfigError(name_fields(str(exc), fields, owner)) from None

        return call  # type: ignore[return-value]

    return wrap


generate = _naming(_OPTION_FIELDS, "GenerateOptions")(api.generate)
repair = _naming(_OPTION_FIELDS, "GenerateOptions")(api.repair)
verify = _naming(frozenset({"memory_limit", "workers", "ray_address", "target"}), "")(api.verify)


@_naming(frozenset({"memory_limit", "replicates", "target"}), "")
def stats(
    target: str,
    config: ConfigLike | None = None,
    storage_options: dict | None = None,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    replicates: int = DEFAULT_REPLICATES,
) -> StatsReport:
    """Each knob of the lake at `target`: configured, expected in its window, realized (see
    docs/stats.md); `config` defaults to the one the lake stores. `replicates` plan worlds give
    the visit model's rows their expectation and spread."""
    cfg = None if config is None else load_config(config)
    check_memory_limit(memory_limit)
    check_replicates(replicates)
    return stats_lake(
        target, cfg, storage_options, memory_limit=memory_limit, replicates=replicates
    )
