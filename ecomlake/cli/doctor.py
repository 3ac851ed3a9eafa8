"""`ecomlake doctor`: before a long run, check that the config loads, the window resolves, the
target is reachable and writable with the credentials at hand, whether the world's plan is
cached, and that Ray is there.

Exit codes: 0 all ok; 2 when a failed check is an input `generate` would refuse (config, window,
target unreachable or unusable, Ray address): the code that command would exit with; else 1.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Annotated

import typer

from ecomlake import __version__
from ecomlake.cli.flags import cli_message
from ecomlake.cli.options import (
    EndOpt,
    MessinessOpt,
    SeedOpt,
    StartOpt,
    StorageOpt,
    add_examples,
    parse_date,
    parse_storage_options,
    utc_today,
)
from ecomlake.config import EcomConfig, config_fingerprint, load_config
from ecomlake.errors import EXIT_BAD_INPUT, EXIT_CHECKS_FAILED, ConfigError, EcomlakeError
from ecomlake.lake.fs import check_target, exists, read_bytes, resolve_target
from ecomlake.lake.identity import check_compatible, read_identity
from ecomlake.lake.lock import LOCK_FILE, LockInfo
from ecomlake.messiness.levels import skipped_note
from ecomlake.plan.cache import default_cache_dir, plan_path
from ecomlake.plan.calendar import day_number
from ecomlake.run.blocked import block_size
from ecomlake.run.executors import probe_address
from ecomlake.run.prepare import lake_identity, level_for, run_identity
from ecomlake.run.sizing import check_plan_fits
from ecomlake.run.window import DayChoice

EXAMPLES = """
Examples:

  ecomlake doctor --config gen_config/backlog.yaml --target s3://bucket/lake

  ecomlake doctor -c gen_config/quick.yaml -t output/lake --ray-address auto
"""


def doctor(
    config: Annotated[str, typer.Option("--config", "-c", help="YAML config to check.")],
    target: Annotated[
        str, typer.Option("--target", "-t", help="Lake root to check.")
    ] = "output/lake",
    storage_option: StorageOpt = None,
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    seed: SeedOpt = None,
    messiness_level: MessinessOpt = "none",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Also connect to this Ray cluster.")
    ] = None,
) -> None:
    """Run the pre-flight checks and print one line each; exit 2 if an input is unusable (as
    generate would), 1 if another check fails."""
    state: dict = {}
    checks: list[tuple[str, Callable[[], str]]] = [
        ("config", lambda: _config(config, state)),
        ("window", lambda: _window(state, start_date, end_date)),
        ("target", lambda: _target(target, parse_storage_options(storage_option), state)),
        ("lake", lambda: _lake(state, seed, messiness_level.lower())),
        ("plan", lambda: _plan(state, seed)),
        ("ray", lambda: _ray(ray_address)),
    ]
    failed: list[EcomlakeError] = []
    typer.echo(f"ecomlake {__version__} doctor")
    for name, check in checks:
        try:
            typer.echo(f"  ok    {name:7} {check()}")
        except KeyError:  # an earlier check failed, so this one has nothing to look at
            typer.echo(f"  skip  {name:7} (needs the checks above)")
        except EcomlakeError as exc:
            failed.append(exc)
            typer.echo(f"  FAIL  {name:7} {cli_message(exc)}")
    typer.echo("result: " + ("ok" if not failed else f"{len(failed)} check(s) failed"))
    if failed:
        bad_input = any(isinstance(exc, ConfigError) for exc in failed)
        raise typer.Exit(EXIT_BAD_INPUT if bad_input else EXIT_CHECKS_FAILED)


def _config(path: str, state: dict) -> str:
    cfg: EcomConfig = load_config(path)
    state["config"] = cfg
    return f"{path} (fingerprint {config_fingerprint(cfg)[:12]}, seed {cfg.faker_seed})"


def _window(state: dict, start: str | None, end: str | None) -> str:
    cfg: EcomConfig = state["config"]
    choice = DayChoice("doctor", parse_date(start, "--start-date"), parse_date(end, "--end-date"))
    window = choice.window(cfg, utc_today())  # generate's checks: the flags against the YAML's pins
    first, last = window.start, window.end
    state["window"] = (first, last)
    days = (last - first).days + 1
    if cfg.parameters.pinned_window() is not None:
        note = "pinned by the YAML"
        if start or end:
            note += f"; the run renders {len(window.days)} of its days"
    elif window.reproducible:
        note = "set by --start-date/--end-date"
    else:
        note = "ends today: not reproducible on another day"
    return f"{first}..{last}, {days} days ({note})"


def _target(uri: str, options: dict, state: dict) -> str:
    loc = resolve_target(uri, options)
    check_target(loc)
    state["loc"] = loc
    kind = "local folder" if loc.is_local else "object store"
    return f"{uri} ({kind}, writable)"


def _lake(state: dict, seed: int | None, messiness_level: str) -> str:
    """The lake at the target, judged as generate judges it for a run of this config, seed,
    window and messiness level: another world there is refused with generate's own message."""
    loc = state["loc"]
    identity = read_identity(loc)
    locked = exists(loc, LOCK_FILE)  # retried and one line on failure, like every storage call
    if locked:
        try:  # generate refuses a damaged lock: so does doctor
            LockInfo.parse(read_bytes(loc, LOCK_FILE))
        except (TypeError, ValueError) as exc:
            raise EcomlakeError(
                f"{loc.uri}: {LOCK_FILE} is damaged ({type(exc).__name__}: {exc}); generate "
                "would refuse it: delete it if no run is writing the lake"
            ) from None
    busy = "; a run holds _lock.json" if locked else ""
    cfg, (first, last) = state["config"], state["window"]
    level = level_for("", cfg, messiness_level, warn=False)  # said on this line instead
    note = skipped_note(cfg, level.name, level.rates)
    busy += f"; {note}" if note else ""
    if identity is None:
        return "new lake" + busy
    run = run_identity(cfg, cfg.faker_seed if seed is None else seed, level)
    check_compatible(loc, identity, lake_identity(run, first, last, level.record()))
    return f"existing lake of this config (seed {identity.seed}): a run resumes it{busy}"


def _plan(state: dict, seed: int | None) -> str:
    """Whether a run loads this world's plan from the plan cache or plans it first."""
    cfg, (first, last) = state["config"], state["window"]
    blocks = block_size(cfg, None, "doctor")
    check_plan_fits(cfg, blocks, on_ray=bool(blocks))  # as a default run would plan it
    folder = default_cache_dir()
    seed = cfg.faker_seed if seed is None else seed
    path = plan_path(folder, cfg, seed, day_number(first), day_number(last))
    if path.is_file():
        size = path.stat().st_size / 2**20
        return f"cached in {folder} ({size:,.1f} MiB): a run loads it instead of planning"
    return f"not cached in {folder}: the first run plans the world and stores it there"


def _ray(address: str | None) -> str:
    import ray

    if not address:
        return f"ray {ray.__version__}, local mode with {os.cpu_count()} CPUs"
    started = dt.datetime.now()
    probe_address(address)
    try:
        ray.init(address=address, log_to_driver=False)
        cpus = ray.cluster_resources().get("CPU", 0)
        nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    except Exception as exc:
        raise EcomlakeError(f"cannot connect to {address!r}: {str(exc).splitlines()[0]}") from None
    finally:
        ray.shutdown()
    seconds = (dt.datetime.now() - started).total_seconds()
    return f"{address}: {nodes} node(s), {cpus:g} CPUs (connected in {seconds:.1f}s)"


add_examples(doctor, EXAMPLES)
