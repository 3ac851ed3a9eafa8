"""Post-export hooks: `module:function` callables run on the driver for every partition a run
commits (dimensions too), with a typed context. Loaded and checked before any work starts.

`partition_dir` and `manifest_path` are absolute, so hooks written for the older tool
(`context.partition_dir / "hook_summary.txt"`) keep working: a `pathlib.Path` on a local lake,
a `StorePath` (same `/`, `name`, `read_*`/`write_*` subset, over the lake's filesystem) on
s3:// or gs://.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ecomlake.errors import EcomlakeError, OptionError
from ecomlake.lake import MANIFEST_NAME, LakeLocation, PartitionManifest, read_bytes, write_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StorePath:
    """A file or folder of an object-store lake, joined with `/` like a `pathlib.Path`."""

    lake: LakeLocation
    rel: str  # relative to the lake root

    def __truediv__(self, name: str) -> StorePath:
        return StorePath(self.lake, f"{self.rel.rstrip('/')}/{name}")

    def __str__(self) -> str:
        return f"{self.lake.uri.rstrip('/')}/{self.rel}"

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    def read_bytes(self) -> bytes:
        return read_bytes(self.lake, self.rel)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        write_bytes(self.lake, self.rel, data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))


@dataclass(frozen=True)
class ExportContext:
    """What a hook receives for one committed partition.

    Attributes:
        table: lake table name, e.g. "orders".
        partition: partition directory name, e.g. "ingest_dt=2024-01-31".
        partition_dir: the partition's folder, absolute (`Path` locally, else `StorePath`).
        manifest_path: its `_MANIFEST.json`, absolute, of the same type.
        manifest: the manifest that was committed (files, rows, checksums, seed, fingerprint).
        lake: where the lake lives (`lake.fs` is an fsspec filesystem, `lake.root` its root,
            `lake.uri` what the user passed as the target).
    """

    table: str
    partition: str
    partition_dir: Path | StorePath
    manifest_path: Path | StorePath
    manifest: PartitionManifest
    lake: LakeLocation

    @property
    def rel_dir(self) -> str:
        """The partition's folder relative to the lake root, e.g. `orders/ingest_dt=2024-01-31`."""
        return f"{self.table}/{self.partition}"


def hook_context(lake: LakeLocation, table: str, manifest: PartitionManifest) -> ExportContext:
    """The context of a partition just committed, from its manifest."""
    rel_dir = f"{table}/{manifest.partition}"
    folder = Path(lake.root) / rel_dir if lake.is_local else StorePath(lake, rel_dir)
    return ExportContext(table, manifest.partition, folder, folder / MANIFEST_NAME, manifest, lake)


Hook = Callable[[ExportContext], object]


@dataclass(frozen=True)
class LoadedHook:
    spec: str
    function: Hook


class HookFailed(EcomlakeError):
    """A hook raised; the run stops and names the hook and the partition."""


def load_hooks(specs: Sequence[str], owner: str, field: str) -> list[LoadedHook]:
    """Import every `module:function`; a bad spec is a one-line OptionError naming it and the
    option `owner.field` that gave it."""
    hooks = []
    for spec in specs:
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            rule = f"{{{field}}}: {spec!r} must look like module:function"
            raise OptionError(owner, rule, field)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            rule = f"{{{field}}}: cannot import {module_name!r} ({type(exc).__name__}: {exc})"
            raise OptionError(owner, rule, field) from None
        function = getattr(module, attr, None)
        if not callable(function):
            rule = f"{{{field}}}: {spec!r} is not a callable in {module_name!r}"
            raise OptionError(owner, rule, field)
        if not _takes_one_argument(function):
            rule = f"{{{field}}}: {spec!r} must take one argument (the partition's context)"
            raise OptionError(owner, rule, field)
        hooks.append(LoadedHook(spec, function))
    return hooks


def _takes_one_argument(function: Callable) -> bool:
    """Whether `function(context)` binds; True when its signature cannot be read (a builtin)."""
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def run_hooks(hooks: Sequence[LoadedHook], context: ExportContext) -> None:
    """Call every hook for one partition; the first failure stops the run."""
    for hook in hooks:
        try:
            hook.function(context)
        except Exception as exc:
            raise HookFailed(
                f"post-export hook {hook.spec} failed on {context.rel_dir}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        log.debug("hook %s done for %s", hook.spec, context.rel_dir)
