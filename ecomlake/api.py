"""Library entry points the CLI (and users' own code) call."""

from __future__ import annotations

from pathlib import Path

from ecomlake.config import EcomConfig, load_config
from ecomlake.run.driver import GenerateOptions, RunResult
from ecomlake.run.driver import generate as _generate
from ecomlake.run.executors import RunProgress, choose_executor
from ecomlake.run.interrupt import StopRequest
from ecomlake.run.repair import RepairResult, repair_lake
from ecomlake.verify.report import VerifyReport, verify_lake
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT, check_memory_limit


def generate(
    config: EcomConfig | str | Path,
    options: GenerateOptions,
    progress: RunProgress | None = None,
    stop: StopRequest | None = None,
) -> RunResult | RepairResult:
    """Generate the lake described by `config` (a model or a YAML path) with `options`
    (`options.repair`: repair it instead, see `repair`); `stop` ends a run early, cleanly."""
    cfg = config if isinstance(config, EcomConfig) else load_config(config)
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
    cfg = config if config is None or isinstance(config, EcomConfig) else load_config(config)
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
    cfg = config if config is None or isinstance(config, EcomConfig) else load_config(config)
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
