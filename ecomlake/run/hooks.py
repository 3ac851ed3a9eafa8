"""Post-export hooks: `module:function` callables run on the driver for every partition a run
commits (dimensions too), with a typed context. Loaded and checked before any work starts.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ecomlake.errors import ConfigError, EcomlakeError
from ecomlake.lake import LakeLocation, PartitionManifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportContext:
    """What a hook receives for one committed partition.

    Attributes:
        table: lake table name, e.g. "orders".
        partition: partition directory name, e.g. "ingest_dt=2024-01-31".
        partition_dir: the partition's path relative to the lake root.
        manifest_path: `_MANIFEST.json` relative to the lake root.
        manifest: the manifest that was committed (files, rows, checksums, seed, fingerprint).
        lake: where the lake lives (`lake.fs` is an fsspec filesystem, `lake.root` its root,
            `lake.uri` what the user passed as the target).
    """

    table: str
    partition: str
    partition_dir: str
    manifest_path: str
    manifest: PartitionManifest
    lake: LakeLocation


Hook = Callable[[ExportContext], object]


@dataclass(frozen=True)
class LoadedHook:
    spec: str
    function: Hook


class HookFailed(EcomlakeError):
    """A hook raised; the run stops and names the hook and the partition."""


def load_hooks(specs: Sequence[str], flag: str = "--post-export-hook") -> list[LoadedHook]:
    """Import every `module:function`; a bad spec is a one-line ConfigError naming it."""
    hooks = []
    for spec in specs:
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise ConfigError(f"{flag}: {spec!r} must look like module:function")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise ConfigError(
                f"{flag}: cannot import {module_name!r} ({type(exc).__name__}: {exc})"
            ) from None
        function = getattr(module, attr, None)
        if not callable(function):
            raise ConfigError(f"{flag}: {spec!r} is not a callable in {module_name!r}")
        hooks.append(LoadedHook(spec, function))
    return hooks


def run_hooks(hooks: Sequence[LoadedHook], context: ExportContext) -> None:
    """Call every hook for one partition; the first failure stops the run."""
    for hook in hooks:
        try:
            hook.function(context)
        except Exception as exc:
            raise HookFailed(
                f"post-export hook {hook.spec} failed on {context.partition_dir}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        log.debug("hook %s done for %s", hook.spec, context.partition_dir)
