"""Entry points the CLI calls; bad input is an OptionError, which the CLI shows with its flags
(`ecomlake.generate`, `repair` and `verify` are these, naming the library's fields:
ecomlake/lakes.py)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from ecomlake.config import EcomConfig
from ecomlake.errors import OptionError
from ecomlake.lake.fs import resolve_target
from ecomlake.lake.identity import LAKE_FILE, read_identity
from ecomlake.library import ConfigLike, load_config, plan_world, render_day
from ecomlake.run.driver import GenerateOptions, RunResult
from ecomlake.run.driver import generate as _generate
from ecomlake.run.executors import RunProgress, choose_executor
from ecomlake.run.fieldcheck import FieldCheck, path_text
from ecomlake.run.interrupt import StopRequest
from ecomlake.run.repair import RepairResult, render_and_compare, repair_lake
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
    target: str | os.PathLike | None = None,
) -> RunResult | RepairResult:
    """Generate the lake described by `config` (a model, a dict or a YAML path) with `options`
    (`target`, when given, replaces `options.target`; `options.repair`: repair it instead);
    `progress` hears of each planned and finished day, `stop` ends a run early, cleanly."""
    cfg = load_config(config)
    options = _options(options if options is not None else GenerateOptions())
    _instance("progress", progress, RunProgress)
    _instance("stop", stop, StopRequest)
    if target is not None:
        options = replace(options, target=target)  # checked (a Path converted) as it is built
    if options.repair:
        return repair(options, cfg, progress)
    return _generate(cfg, options, progress, stop)


def repair(
    options: GenerateOptions,
    config: EcomConfig | str | Path | None = None,
    progress: RunProgress | None = None,
    *,
    target: str | os.PathLike | None = None,
) -> RepairResult:
    """Re-render the damaged partitions of the lake at `options.target` (or `target`, as for
    `generate`) byte-identically; without `config`, with the config the lake stores."""
    cfg = None if config is None else load_config(config)
    _instance("progress", progress, RunProgress)
    options = _options(options)
    if target is not None:
        options = replace(options, target=target)
    return repair_lake(options, cfg, progress)


def _instance(name: str, value: object, kind: type) -> None:
    """None or a `kind`, else a one-line error naming the argument (before anything is written)."""
    if value is not None and not isinstance(value, kind):
        rule = f"{{{name}}}: expected a {kind.__name__} or None, got {value!r:.60}"
        raise OptionError("", rule, name)


def _options(options: object) -> GenerateOptions:
    """`options` if it is a GenerateOptions, else a one-line error naming the argument."""
    if not isinstance(options, GenerateOptions):
        got = f"{options!r:.60}"
        rule = f"{{options}}: expected a GenerateOptions (its target names the lake), got {got}"
        raise OptionError("", rule, "options")
    return options


def verify(
    target: str | os.PathLike,
    config: EcomConfig | str | Path | None = None,
    storage_options: dict | None = None,
    against_defects: bool = False,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    workers: int | None = None,
    ray_address: str | None = None,
    deep: bool = False,
) -> VerifyReport:
    """Check the lake at `target`; with `config`, its config-dependent rules too; with
    `against_defects`, undo a messy lake's defect log and compare with the clean truth.

    `workers` (a local Ray of that many CPUs) or `ray_address` (a cluster) checks manifests and
    files as Ray tasks; without either everything runs in this process. `deep` also renders
    every partition again, as `--repair` would write it, and compares its bytes with the lake's
    (as long as generating the lake takes, without the writes).
    """
    target = path_text("", "target", target)
    args = SimpleNamespace(
        storage_options=storage_options,
        against_defects=against_defects,
        deep=deep,
        workers=workers,
        ray_address=ray_address,
    )
    check = FieldCheck("", args)
    check.mapping("storage_options")
    check.flag("against_defects", "deep")
    check.count("workers")
    check.text("ray_address", optional=True)
    storage_options = args.storage_options
    cfg = None if config is None else load_config(config)
    check_memory_limit(memory_limit)
    on_ray = workers is not None or ray_address is not None
    if not on_ray:
        return _verify(target, cfg, storage_options, against_defects, memory_limit, False, deep)
    executor = choose_executor("ray", workers, ray_address, tasks=0)
    executor.start()
    try:
        return _verify(target, cfg, storage_options, against_defects, memory_limit, True, deep)
    finally:
        executor.close()


def _verify(
    target: str,
    cfg: EcomConfig | None,
    storage_options: dict | None,
    against_defects: bool,
    memory_limit: str,
    on_ray: bool,
    deep: bool,
) -> VerifyReport:
    """verify_lake, then (`deep`) the lake rendered again and compared (run/repair.py)."""
    started = time.perf_counter()
    report = verify_lake(
        target, cfg, storage_options, against_defects, memory_limit=memory_limit, on_ray=on_ray
    )
    if not deep:
        return report
    if read_identity(resolve_target(target, storage_options)) is None:
        report.skipped.append(f"rendering again: the lake has no {LAKE_FILE}")
    else:
        executor = "ray" if on_ray else "auto"
        stores = dict(storage_options or {})
        options = GenerateOptions(target, storage_options=stores, executor=executor)
        found = render_and_compare(options, cfg)
        failures = [f"{f.day or 'tables'}: {f.error}" for f in found.failures]
        report.add_render_check(found.checked, found.differ, len(found.unchecked), failures)
    report.seconds = time.perf_counter() - started
    return report
