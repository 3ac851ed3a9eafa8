"""Entry points the CLI calls; bad input is an OptionError, which the CLI shows with its flags
(`ecomlake.generate`, `repair` and `verify` are these, naming the library's fields:
ecomlake/lakes.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ecomlake.config import EcomConfig
from ecomlake.library import ConfigLike, load_config, plan_world, render_day
from ecomlake.run.driver import GenerateOptions, RunResult
from ecomlake.run.driver import generate as _generate
from ecomlake.run.executors import RunProgress, choose_executor
from ecomlake.run.interrupt import StopRequest
from ecomlake.run.repair import RepairResult, repair_lake
from ecomlake.verify.report import VerifyReport, verify_lake
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT, check_memory_limit

__all__ = [
    "GenerateOptions",
    "RepairResult",
    "RunResult",
    "VerifyReport",
    "generate",
    "load_config",
    "plan_world",
    "render_day",
    "repair",
    "verify",
]


def generate(
    config: ConfigLike,
    options: GenerateOptions | None = None,
    progress: RunProgress | None = None,
    stop: StopRequest | None = None,
    *,
    target: str | None = None,
) -> RunResult | RepairResult:
    """Generate the lake described by `config` (a model, a dict or a YAML path) with `options`
    (`target`, when given, replaces `options.target`; `options.repair`: repair it instead);
    `progress` hears of each planned and finished day, `stop` ends a run early, cleanly."""
    cfg = load_config(config)
    options = options or GenerateOptions()
    if target is not None:
        options = replace(options, target=target)
    if options.repair:
        return repair(options, cfg, progress)
    return _generate(cfg, options, progress, stop)


def repair(
    options: GenerateOptions,
    config: EcomConfig | str | Path | None = None,
    progress: RunProgress | None = None,
) -> RepairResult:
    """Re-render the damaged partitions of the lake at `options.target` byte-identically;
    without `config`, with the config the lake stores."""
    cfg = None if config is None else load_config(config)
    return repair_lake(options, cfg, progress)


def verify(
    target: str,
    config: EcomConfig | str | Path | None = None,
    storage_options: dict | None = None,
    against_defects: bool = False,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    workers: int | None = None,
    ray_address: str | None = None,
) -> VerifyReport:
    """Check the lake at `target`; with `config`, its config-dependent rules too; with
    `against_defects`, undo a messy lake's defect log and compare with the clean truth.

    `workers` (a local Ray of that many CPUs) or `ray_address` (a cluster) checks manifests and
    files as Ray tasks; without either everything runs in this process.
    """
    cfg = None if config is None else load_config(config)
    check_memory_limit(memory_limit)
    if workers is None and ray_address is None:
        return verify_lake(target, cfg, storage_options, against_defects, memory_limit=memory_limit)
    executor = choose_executor("ray", workers, ray_address, tasks=0)
    executor.start()
    try:
        return verify_lake(
            target, cfg, storage_options, against_defects, memory_limit=memory_limit, on_ray=True
        )
    finally:
        executor.close()
