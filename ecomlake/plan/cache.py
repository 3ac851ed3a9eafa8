"""A local cache of world plans, so that a scheduled run does not re-plan six years every day.

The plan is a pure function of (config, seed, world window, plan code), so a plan stored under
a key made of exactly those is the plan: a daily job loads yesterday's arrays (a file read)
instead of spending seconds of CPU on the same world. Only the heavy arrays are stored; the
lexicon, catalog and line model are rebuilt from the config (milliseconds).

The file is an uncompressed `.npz`, written to a temporary name and renamed, so a reader sees a
whole plan or none; zip CRCs catch a damaged file, which is then planned again and replaced.
Any failure to read or write the cache only costs the plan's time, never the run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import stat
import threading
import zipfile
from pathlib import Path

import numpy as np

import ecomlake
from ecomlake.config import EcomConfig
from ecomlake.config.fingerprint import config_fingerprint
from ecomlake.errors import ConfigError
from ecomlake.plan.memory import catalog_too_big, plan_too_big
from ecomlake.plan.world import WorldPlan, assemble_world, build_world, world_arrays

log = logging.getLogger(__name__)

CACHE_ENV = "ECOMLAKE_PLAN_CACHE"
KEEP_PLANS = 4  # newest plans kept per cache folder; one backlog plan is about 300 MB
_SUFFIX = ".npz"
_SHAPES = "_shapes"  # the arrays' shapes, as JSON text
# Every package whose code decides a plan array; a change to any of them is a new key.
_PLAN_CODE = ("config", "plan", "rng")


def default_cache_dir() -> Path:
    """`$ECOMLAKE_PLAN_CACHE`, else `$XDG_CACHE_HOME/ecomlake/plans` (`~/.cache` by default)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ecomlake" / "plans"


def plan_key(cfg: EcomConfig, seed: int, start_day: int, end_day: int) -> str:
    """Hex key of everything a plan depends on: config, seed, window, plan code and numpy."""
    parts = {
        "config": config_fingerprint(cfg),
        "seed": seed,
        "window": [start_day, end_day],
        "code": _code_digest(),
        "numpy": np.__version__,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def load_or_build_world(
    cfg: EcomConfig, seed: int, start_day: int, end_day: int, cache_dir: Path | None
) -> tuple[WorldPlan, bool]:
    """The world plan and whether it came from the cache; `cache_dir=None` always plans, and so
    does an install without the plan's source files, whose code could not be part of the key.
    A plan that cannot fit this machine's memory is a ConfigError, before any of it is built."""
    too_big = plan_too_big(cfg)
    if too_big is not None:
        raise ConfigError(f"lookup_config.customers.num_customers: {too_big}")
    if (too_many := catalog_too_big(cfg)) is not None:
        raise ConfigError(too_many)
    if cache_dir is None or _code_digest() is None:
        return build_world(cfg, seed, start_day, end_day), False
    world = cached_world(cfg, seed, start_day, end_day, cache_dir)
    if world is not None:
        return world, True
    world = build_world(cfg, seed, start_day, end_day)
    store_world(world, cache_dir)
    return world, False


def cached_world(
    cfg: EcomConfig, seed: int, start_day: int, end_day: int, cache_dir: Path
) -> WorldPlan | None:
    """The stored plan of this world, or None when there is none or it is unreadable."""
    path = plan_path(cache_dir, cfg, seed, start_day, end_day)
    arrays = _read(path)
    if arrays is None:
        return None
    try:
        return assemble_world(cfg, seed, start_day, end_day, arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # arrays missing or misshapen
        log.warning("plan cache: %s does not hold a whole plan (%r); planning again", path, exc)
        return None


def store_world(world: WorldPlan, cache_dir: Path) -> None:
    """Store the plan and prune old ones; a failure is logged, never raised."""
    path = plan_path(cache_dir, world.config, world.seed, world.start_day, world.end_day)
    try:
        _write(path, world)
        _prune(cache_dir, keep=KEEP_PLANS)
    except OSError as exc:
        log.warning("plan cache: could not store %s (%s); the run goes on", path, exc)


def plan_path(cache_dir: Path, cfg: EcomConfig, seed: int, start_day: int, end_day: int) -> Path:
    """Where the plan of this world is (or would be) stored in `cache_dir`."""
    return cache_dir / f"plan-{plan_key(cfg, seed, start_day, end_day)}{_SUFFIX}"


def _read(path: Path) -> dict[str, np.ndarray] | None:
    """The stored arrays, or None when absent or unreadable (then it is planned again)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read for ever
            log.warning("plan cache: %s is not a file; planning again", path)
            return None
        stored = np.load(path, allow_pickle=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:  # EOFError: empty file
        log.warning("plan cache: %s is unreadable (%s); planning again", path, exc)
        return None
    if not isinstance(stored, np.lib.npyio.NpzFile):  # one bare array, not a stored plan
        log.warning("plan cache: %s is not a stored plan; planning again", path)
        return None
    try:
        with stored:
            arrays = {name: stored[name] for name in stored.files}
        os.utime(path)  # newest use first when pruning
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        log.warning("plan cache: %s is unreadable (%s); planning again", path, exc)
        return None
    if _shapes(arrays) != str(arrays.pop(_SHAPES, "")):
        log.warning("plan cache: %s holds arrays of other shapes; planning again", path)
        return None
    return arrays


def _shapes(arrays: dict[str, np.ndarray]) -> str:
    """Each array's shape, stored with the plan: a cut array in an otherwise whole file (its zip
    CRC right) is seen before a day indexes past its end."""
    return json.dumps({name: list(a.shape) for name, a in arrays.items() if name != _SHAPES})


def _write(path: Path, world: WorldPlan) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # one temp name per thread: two runs of one process may store the same plan at once
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        arrays = world_arrays(world)
        with open(tmp, "wb") as out:
            np.savez(out, **arrays, **{_SHAPES: np.array(_shapes(arrays))})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _prune(cache_dir: Path, keep: int) -> None:
    """Delete all but the `keep` most recently used plans."""
    plans = sorted(cache_dir.glob(f"plan-*{_SUFFIX}"), key=_mtime, reverse=True)
    for old in plans[keep:]:
        old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0  # already gone: sorts as the oldest


@functools.cache
def _code_digest() -> str | None:
    """sha256 of the plan's source files, or None when they are not on disk."""
    root = Path(ecomlake.__file__).parent
    sources = _plan_sources(root)
    if not sources:
        return None
    digest = hashlib.sha256(ecomlake.__version__.encode())
    for source in sources:
        digest.update(source.relative_to(root).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _plan_sources(root: Path) -> list[Path]:
    return [path for package in _PLAN_CODE for path in sorted((root / package).rglob("*.py"))]
