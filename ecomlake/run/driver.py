"""The driver: resolve the window and days, plan once, dispatch days, write the run manifest.

The driver never writes a partition; it only records the run under `<target>/_runs/`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from ecomlake import __version__
from ecomlake.config import EcomConfig
from ecomlake.errors import Interrupted, OptionError, StorageError
from ecomlake.lake import (
    LakeLocation,
    ParquetOptions,
    PartitionManifest,
    resolve_target,
    write_bytes,
)
from ecomlake.lake.check import check_partition, survey_table
from ecomlake.lake.commit import PartitionWrite, writer_record
from ecomlake.lake.fs import exists, read_bytes
from ecomlake.lake.identity import (
    LakeIdentity,
    check_compatible,
    clear_lake,
    forget_empty_lake,
    read_identity,
    unlink_tables,
    write_identity,
    write_lake_config,
)
from ecomlake.lake.lock import LakeLock
from ecomlake.lake.runs import merge_run_record, read_run_records, run_record_path
from ecomlake.messiness import RunLevel
from ecomlake.messiness.log import defect_log_tables
from ecomlake.plan.cache import default_cache_dir, load_or_build_world
from ecomlake.plan.calendar import day_date, day_number
from ecomlake.plan.world import WorldPlan
from ecomlake.render.registry import TABLES, output_columns
from ecomlake.run.blocked import (
    BlockedWorld,
    InProcessBlocks,
    RayBlocks,
    RayBlocksWhileStarting,
    block_size,
    lookback_days,
    plan_blocked,
)
from ecomlake.run.days import assign_tasks, spread_backlog
from ecomlake.run.executors import (
    DayFailure,
    Executor,
    InProcessExecutor,
    Outcome,
    RayExecutor,
    RunProgress,
    auto_waits_for_plan,
    choose_executor,
)
from ecomlake.run.fieldcheck import FieldCheck
from ecomlake.run.hooks import LoadedHook, hook_context, load_hooks, run_hooks
from ecomlake.run.interrupt import StopRequest
from ecomlake.run.prepare import (
    check_batch_reuse,
    check_lake,
    check_lineage_columns,
    lake_identity,
    level_for,
    lineage_for,
    open_target,
    run_identity,
)
from ecomlake.run.sizing import check_plan_fits, estimate_work, plans_quickly
from ecomlake.run.task import DayResult, DayTask, WriteSettings
from ecomlake.run.window import DayChoice
from ecomlake.tables import TableCommitter, TableOptions, commit_failure, open_tables
from ecomlake.tables.detect import check_format

log = logging.getLogger(__name__)

_OWNER = "GenerateOptions"  # how errors name the options (the CLI shows its flags instead)


@dataclass(frozen=True)
class GenerateOptions:
    """Run flags that are not in the YAML."""

    target: str = "output/lake"
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    days: int | None = None
    dates: tuple[dt.date, ...] = ()
    seed: int | None = None
    workers: int | None = None
    ray_address: str | None = None
    executor: str = "auto"  # Ray unless the run is one day or too small to pay for a local Ray
    batch_id: str | None = None
    ingestion_ts: str | None = None
    target_size_mb: float = 128.0
    compression: str = "zstd"
    messiness_level: str = "none"
    source_prefix: str | None = None
    storage_options: dict = field(default_factory=dict)
    overwrite: bool = False  # replace a lake of another config; rewrite committed partitions
    repair: bool = False  # check every committed partition, re-render the damaged (run/repair.py)
    hooks: tuple[str, ...] = ()  # post-export hooks, "module:function"
    plan_cache: bool = True  # reuse a stored world plan (plan/cache.py); never changes bytes
    # Plan in blocks of this many customers (run/blocked.py); None: blocks of a million when
    # the world has more than BLOCKED_ABOVE customers, 0: in one piece. Never changes bytes.
    block_customers: int | None = None
    shared_target: bool = False  # a local path that every cluster node sees (NFS, …)
    today: dt.date | None = None  # the anchor of unpinned windows; defaults to the UTC date
    tables: TableOptions = field(default_factory=TableOptions)  # --format iceberg|delta
    lock_expiry_hours: float | None = None  # a lock older than this is stale, whoever holds it

    def __post_init__(self) -> None:
        """A library caller's wrong type fails here, naming the field (the CLI: its flag)."""
        check = FieldCheck(_OWNER, self)
        check.path("target")
        check.date("start_date", "end_date", "today")
        check.dates("dates")
        check.whole("days", "block_customers")
        check.count("workers")
        check.seed("seed")
        check.number("target_size_mb")
        check.text("executor", "compression", "messiness_level")
        check.text("ray_address", "batch_id", "ingestion_ts", "source_prefix", optional=True)
        check.mapping("storage_options")
        check.flag("overwrite", "repair", "plan_cache", "shared_target")
        check.texts("hooks")
        check.instance("tables", TableOptions, "TableOptions('iceberg')")
        if self.lock_expiry_hours is not None:
            check.number("lock_expiry_hours")
            if not 0 < self.lock_expiry_hours < float("inf"):
                rule = f"{{lock_expiry_hours}}: must be hours > 0, got {self.lock_expiry_hours}"
                raise OptionError(_OWNER, rule, "lock_expiry_hours")
        if self.executor == "in-process":  # they would be ignored without a word
            given = [f for f in ("ray_address", "workers") if getattr(self, f) is not None]
            if given:
                rule = f"{{{given[0]}}}: only for Ray; {{executor}} in-process runs in this process"
                raise OptionError(_OWNER, rule, given[0], "executor")


@dataclass
class RunResult:
    """What a run did: per-day results, failures and where the run manifest is."""

    batch_id: str
    target: str
    world_start: dt.date
    world_end: dt.date
    reproducible: bool
    results: list[DayResult]
    failures: list[DayFailure]
    plan_seconds: float
    total_seconds: float
    manifest_path: str
    plan_cached: bool = False  # the world plan was loaded from the plan cache
    executor: str = ""  # the one that ran the days: "in-process" or "ray"
    manifest_error: str = ""  # why the run manifest could not be written (e.g. a full disk)
    planned_days: int = 0  # days the run set out to render
    left: tuple[str, ...] = ()  # days it set out to render and neither committed nor failed
    interrupted: str = ""  # the signal that stopped the run before every day was done

    @property
    def ok(self) -> bool:
        return not self.failures and not self.manifest_error and not self.interrupted

    @property
    def total_rows(self) -> int:
        return sum(r.total_rows for r in self.results)

    def rows_by_table(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for result in self.results:
            for table, rows in result.rows.items():
                totals[table] = totals.get(table, 0) + rows
        return totals


def generate(
    cfg: EcomConfig,
    options: GenerateOptions,
    progress: RunProgress | None = None,
    stop: StopRequest | None = None,
) -> RunResult:
    """Render the selected days of the world into the target lake; after a `stop` request,
    return what committed (the lock released, the run manifest written)."""
    started = time.perf_counter()
    run = _prepare(cfg, options)  # every check that can fail on input, before any write
    run.stop = stop or StopRequest()
    if run.stop.is_set():  # it came while the target was probed: leave the lake untouched
        raise Interrupted(f"{run.stop.reason}: stopped before the run wrote anything")
    with LakeLock(run.loc, run.settings.lineage.batch_id, options.lock_expiry_hours):
        existing = read_identity(run.loc, overwrite=options.overwrite)
        if existing is not None and not options.overwrite:  # a run that held the lock since
            check_compatible(run.loc, existing, run.identity)  # _prepare may have made one
        if existing is not None and existing.same_world(run.identity):  # its records, locked
            records = read_run_records(run.loc, existing)
            write = PartitionWrite(run.settings.lineage, run.settings.parquet)
            check_batch_reuse(_OWNER, records, write, run.days, options.overwrite)
            lineage = run.settings.lineage
            check_lineage_columns(_OWNER, records, lineage, run.days, options.overwrite)
        tables = [*(spec.name for spec in TABLES), *defect_log_tables()]
        if existing is not None and options.overwrite and not existing.same_world(run.identity):
            if run.tables:
                run.tables.drop(tables)
            clear_lake(run.loc, tables)
        elif options.overwrite:
            unlink_tables(run.loc, tables)
            if run.tables and existing is not None:
                run.tables.start_afresh(tables)
        fresh = existing is None or not existing.same_world(run.identity)
        write_lake_config(run.loc, cfg)
        write_identity(run.loc, run.identity)
        try:
            head = _plan_blocked(cfg, run) if run.blocks else _plan_while_starting(cfg, run)
        except BaseException as exc:
            if run.head is not None and run.head.early:  # days committed while Ray started
                done = run.head.early
                results = [o for o in done if not isinstance(o, DayFailure)]
                failures = [o for o in done if isinstance(o, DayFailure)]
                _record_stopped(run, run.head, results, failures, exc, started)
            elif fresh:  # a stub would hold the target for this config against a corrected one
                forget_empty_lake(run.loc, tables)
            raise
        carts = head.world.carts
        log.info(
            "%s %s..%s in %.2fs: %d carts",
            "plan loaded from cache:"
            if head.plan_cached
            else f"planned in {run.blocks}-customer blocks"
            if run.blocks
            else "planned",
            run.start,
            run.end,
            head.plan_seconds,
            carts if isinstance(carts, int) else carts.size,
        )
        if head.early:
            log.info("%d day(s) rendered in-process while Ray started", len(head.early))
        progress = progress or RunProgress()
        progress.tasks_planned(len(head.tasks))
        results: list[DayResult] = []
        failures: list[DayFailure] = []
        try:
            _dispatch(run, head, progress, results, failures)
        except BaseException as exc:  # the partitions written so far must still be recorded
            _record_stopped(run, head, results, failures, exc, started)
            raise
        if run.tables and options.overwrite and existing is not None:
            failures += _commit_the_rest(run, results, tables)
    result = _result(run, head, results, failures, started)
    try:  # the days' outcome must still reach the caller when the record cannot be written
        result.manifest_path = _write_run_manifest(result, run.settings, run.executor.name, options)
    except StorageError as exc:
        result.manifest_error = str(exc)
        log.error("run manifest not written: %s", exc)
    return result


def _result(
    run: _Prepared,
    head: _Head,
    results: list[DayResult],
    failures: list[DayFailure],
    started: float,
) -> RunResult:
    """The run's outcome from the days it collected."""
    results.sort(key=lambda r: r.day)
    failures.sort(key=lambda f: f.day)
    options = run.options
    result = RunResult(
        batch_id=run.settings.lineage.batch_id,
        target=options.target,
        world_start=run.start,
        world_end=run.end,
        reproducible=run.reproducible,
        results=results,
        failures=failures,
        plan_seconds=head.plan_seconds,
        total_seconds=time.perf_counter() - started,
        manifest_path="",
        plan_cached=head.plan_cached,
        executor=run.executor.name,
        planned_days=len(head.tasks),
    )
    done = {r.day for r in results} | {f.day for f in failures}
    result.left = tuple(sorted({day_date(t.day).isoformat() for t in head.tasks} - done))
    if run.stop.is_set() and result.left:
        result.interrupted = run.stop.reason
    return result


def _record_stopped(
    run: _Prepared,
    head: _Head,
    results: list[DayResult],
    failures: list[DayFailure],
    exc: BaseException,
    started: float,
) -> None:
    """Write the record of a run that an unexpected error stopped, with the days it committed:
    without it, `verify` and `--repair` would take the lineage of the partitions it wrote from
    an earlier run's record."""
    failures.append(DayFailure("", f"the run stopped: {type(exc).__name__}: {exc}"))
    result = _result(run, head, results, failures, started)
    try:
        _write_run_manifest(result, run.settings, run.executor.name, run.options)
    except Exception as error:  # the original error is the one to report
        log.error("run manifest not written: %s", error)


@dataclass
class _Prepared:
    """A validated run: window, days, write settings, executor and the target's identity."""

    start: dt.date
    end: dt.date
    reproducible: bool
    days: list[dt.date]
    settings: WriteSettings
    executor: Executor | None  # None: `auto` chooses once the plan shows the work
    loc: LakeLocation
    identity: LakeIdentity
    hooks: list[LoadedHook]
    options: GenerateOptions
    stop: StopRequest = field(default_factory=StopRequest)
    tables: TableCommitter | None = None  # commits each finished day to Iceberg/Delta tables
    blocks: int = 0  # customers per plan block; 0: the world is planned in one piece
    warm_workers: bool = False  # the plan takes seconds: warm Ray's workers meanwhile
    head: _Head | None = None  # the plan once made; its `early` days commit while Ray starts


def _prepare(cfg: EcomConfig, options: GenerateOptions) -> _Prepared:
    """Validate flags, window, days, columns and target; refuse to mix into another lake."""
    level = level_for(_OWNER, cfg, options.messiness_level)
    today = options.today or dt.datetime.now(dt.UTC).date()
    choice = DayChoice(_OWNER, options.start_date, options.end_date, options.days, options.dates)
    window = choice.window(cfg, today)
    start, end, reproducible, days = window.start, window.end, window.reproducible, window.days
    window.warn_if_unreproducible()
    settings = _write_settings(cfg, options, level)
    for spec in TABLES:
        output_columns(cfg, spec)  # a bad column list fails before anything is planned
    blocks = block_size(cfg, options.block_customers, _OWNER)
    executor = None
    if blocks or not auto_waits_for_plan(
        options.executor, options.ray_address, len(days), plans_quickly(cfg)
    ):
        executor = choose_executor(
            options.executor, options.workers, options.ray_address, len(days)
        )
    check_plan_fits(cfg, blocks, on_ray=isinstance(executor, RayExecutor))
    loc = open_target(options.target, options.storage_options)
    _refuse_unshared_local_target(executor, loc, options)
    identity = lake_identity(settings.identity, start, end, level.record())
    existing = check_lake(loc, identity, overwrite=options.overwrite)
    if existing is not None:
        check_format(loc, options.tables)  # a new lake has no tables to look for
    hooks = load_hooks(options.hooks, _OWNER, "hooks")
    return _Prepared(
        start,
        end,
        reproducible,
        days,
        settings,
        executor,
        loc,
        identity,
        hooks,
        options,
        tables=open_tables(
            loc, options.tables, _commit_summary(settings), replacing=options.overwrite
        ),
        blocks=blocks,
        warm_workers=bool(blocks) or not plans_quickly(cfg),
    )


def _commit_summary(settings: WriteSettings) -> dict[str, str]:
    """What every table commit records besides its days."""
    return {
        "batch_id": settings.lineage.batch_id,
        "seed": str(settings.identity.seed),
        "config_fingerprint": settings.identity.config_fingerprint,
    }


def _refuse_unshared_local_target(
    executor: Executor | None, loc: LakeLocation, options: GenerateOptions
) -> None:
    """On a multi-node cluster each node would write its own disk: refuse a local path."""
    if not (options.ray_address and loc.is_local and not options.shared_target):
        return
    if isinstance(executor, RayExecutor) and executor.alive_nodes() > 1:
        rule = (
            f"{{target}}: {options.target} is a local path but the Ray cluster has several "
            "nodes; use s3:// or gs://, or pass {shared_target} if every node sees that path"
        )
        raise OptionError(_OWNER, rule, "target", "shared_target")


@dataclass
class _Head:
    """The start of a run: the plan, every task, and the outcomes of `tasks[: len(early)]`,
    which the driver ran in-process while a local Ray was starting."""

    world: WorldPlan | BlockedWorld
    plan_seconds: float
    plan_cached: bool
    tasks: list[DayTask]
    early: list[Outcome]


def _plan_while_starting(cfg: EcomConfig, run: _Prepared) -> _Head:
    """Plan, and start the executor meanwhile; for `auto` on a small world, plan first and let
    the planned work choose the executor (run/executors.py)."""
    if run.executor is not None:
        return _start_while_rendering(run, lambda: _plan(cfg, run))
    planned = _plan(cfg, run)
    work = estimate_work(planned.world, planned.tasks)
    options = run.options
    run.executor = choose_executor(
        options.executor, options.workers, options.ray_address, len(planned.tasks), work
    )
    if isinstance(run.executor, InProcessExecutor):
        return planned
    return _start_while_rendering(run, lambda: planned)


def _plan(cfg: EcomConfig, run: _Prepared) -> _Head:
    """The world plan (from the plan cache when it has it) and every task of the run."""
    seed, first, last = run.settings.identity.seed, day_number(run.start), day_number(run.end)
    cache_dir = default_cache_dir() if run.options.plan_cache else None
    t0 = time.perf_counter()
    world, cached = load_or_build_world(cfg, seed, first, last, cache_dir)
    plan_seconds = time.perf_counter() - t0
    tasks = spread_backlog(assign_tasks(run.days, world.signup_days()))
    return _Head(world, plan_seconds, cached, tasks, [])


def _plan_blocked(cfg: EcomConfig, run: _Prepared) -> _Head:
    """Plan the world in customer blocks on the executor (run/blocked.py). While a local Ray
    starts, the first blocks are planned here, on a thread (Ray must start on the main one)."""
    assert run.executor is not None
    t0 = time.perf_counter()
    on_ray = isinstance(run.executor, RayExecutor)
    early = on_ray and run.executor.starts_local_ray()
    runner = (
        RayBlocksWhileStarting(run.stop)
        if early
        else RayBlocks(run.stop)
        if on_ray
        else InProcessBlocks()
    )

    def plan() -> BlockedWorld:
        return plan_blocked(
            cfg,
            run.settings.identity.seed,
            run.start,
            run.end,
            run.days,
            runner,
            block_customers=run.blocks,
            lookback=lookback_days(run.settings.level),
        )

    try:
        if isinstance(runner, RayBlocksWhileStarting):
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan") as pool:
                planned = pool.submit(plan)
                try:
                    _start_executor(run)
                except BaseException:
                    runner.abandon()  # the thread stops after the block in hand
                    raise
                runner.ray_ready()
                world = planned.result()
            log.info("%d block(s) planned in-process while Ray started", runner.planned_here)
        else:
            _start_executor(run)
            world = plan()
    except BaseException:  # stopped or failed: no Ray of ours outlives the run
        run.executor.close()
        raise
    return _Head(world, time.perf_counter() - t0, False, world.tasks, [])


def _start_while_rendering(run: _Prepared, plan: Callable[[], _Head]) -> _Head:
    """Plan in a thread while the executor starts, then keep rendering days in that thread,
    in-process, until a local Ray is up (4-6 s of start-up that a cached plan no longer hides).
    A day's bytes do not depend on where it runs (tested), so Ray takes the rest of the tasks
    as soon as it is ready. Ray must start on the main thread (signal handlers)."""
    assert run.executor is not None
    early_work = run.executor.starts_local_ray()
    ready = threading.Event()

    def head() -> _Head:
        planned = run.head = plan()
        tasks, early = planned.tasks, planned.early
        while early_work and not (ready.is_set() or run.stop.is_set()) and len(early) < len(tasks):
            early += InProcessExecutor().map_days(planned.world, [tasks[len(early)]], run.settings)
        return planned

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan") as pool:
        planned = pool.submit(head)
        try:
            _start_executor(run)
            ready.set()
            return planned.result()
        except BaseException:
            ready.set()  # the thread stops after its current day
            run.executor.close()
            raise


def _start_executor(run: _Prepared) -> None:
    """Start the executor, then take SIGINT/SIGTERM back from `ray.init`; a SIGTERM that its
    own handler turned into an exit while Ray started becomes our stop request."""
    try:
        run.executor.start(warm=run.warm_workers)
    except SystemExit as exc:
        if exc.code != signal.SIGTERM or not run.stop.armed:
            raise
        run.stop.signalled(signal.SIGTERM)
    finally:
        run.stop.rearm()


def _dispatch(
    run: _Prepared,
    head: _Head,
    progress: RunProgress,
    results: list[DayResult],
    failures: list[DayFailure],
) -> None:
    """Run every task; collect committed days into `results` and failures into `failures` (so
    that an error raised mid-way leaves what was done); call hooks as partitions land."""
    rest = head.tasks[len(head.early) :]
    try:
        days = run.executor.map_days(head.world, rest, run.settings, run.stop)
        with contextlib.closing(days) as later:
            for outcome in itertools.chain(head.early, later):
                if isinstance(outcome, DayFailure):
                    failures.append(outcome)
                    log.error("day %s failed: %s", outcome.day, outcome.error)
                else:
                    results.append(outcome)
                    if run.tables:
                        run.tables.add(outcome)
                    for table, manifest_json in outcome.committed:
                        manifest = PartitionManifest.from_json(manifest_json)
                        run_hooks(run.hooks, hook_context(run.loc, table, manifest))
                progress.outcome(outcome, len(head.tasks))
    finally:
        run.executor.close()  # also a Ray it started and never used (the driver did every day)
        if run.tables:
            failures += run.tables.close()


def _commit_the_rest(
    run: _Prepared, results: list[DayResult], tables: list[str]
) -> list[DayFailure]:
    """After an --overwrite started the tables afresh, the lake's committed partitions that this
    run did not write (days it was not given) go into the new tables too."""
    assert run.tables is not None
    written = {rel for r in results for rel in r.committed_partitions()}
    rest = [
        rel
        for table in tables
        for rel in (f"{table}/{name}" for name in survey_table(run.loc, table)[0])
        if rel not in written
        and check_partition(run.loc, rel, run.settings.identity).problem is None
    ]
    try:
        run.tables.commit_partitions([], rest, {"operation": "overwrite"})
    except Exception as exc:  # a catalog or store error: the data is written, a re-run commits
        return [DayFailure("", commit_failure(run.tables.fmt.name, exc))]
    return []


def _write_settings(cfg: EcomConfig, options: GenerateOptions, level: RunLevel) -> WriteSettings:
    """Validate every flag that shapes the output before anything is planned or written."""
    lineage = lineage_for(_OWNER, options.batch_id, options.ingestion_ts, options.source_prefix)
    seed = cfg.faker_seed if options.seed is None else options.seed
    return WriteSettings(
        target=options.target,
        storage_options=dict(options.storage_options),
        lineage=lineage,
        parquet=ParquetOptions(
            compression=options.compression, target_size_mb=options.target_size_mb
        ),
        identity=run_identity(cfg, seed, level),
        skip_committed=not options.overwrite,
        level=level,
    )


def _write_run_manifest(
    result: RunResult, settings: WriteSettings, executor: str, options: GenerateOptions
) -> str:
    """Record the run (days, rows, timings, node per day) under `_runs/<batch_id>.json`."""
    loc = resolve_target(settings.target, settings.storage_options)
    body = {
        "batch_id": result.batch_id,
        "generator_version": __version__,
        "config_fingerprint": settings.identity.config_fingerprint,
        "seed": settings.identity.seed,
        "ingestion_ts": settings.lineage.ingestion_ts,
        "world": {
            "start": result.world_start.isoformat(),
            "end": result.world_end.isoformat(),
            "reproducible": result.reproducible,
        },
        "executor": executor,
        "workers": options.workers,
        "ray_address": options.ray_address,
        "plan_seconds": round(result.plan_seconds, 4),
        "plan_cached": result.plan_cached,
        "total_seconds": round(result.total_seconds, 4),
        "rows": result.rows_by_table(),
        "write": writer_record(settings.lineage, settings.parquet),  # what --repair writes with
        # the lake's table format, known even when every table's metadata folder is gone
        "tables": {"format": options.tables.format, "namespace": options.tables.namespace},
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),  # orders the records for --repair
        "days": [_day_record(r) for r in result.results],
        "failures": [asdict(f) for f in result.failures],
        "days_planned": result.planned_days,
        "days_left": list(result.left),  # verify: until another run commits them, not whole
        "interrupted": result.interrupted or None,
        "ok": result.ok,
    }
    rel = run_record_path(result.batch_id)
    if exists(loc, rel):  # an earlier run of this batch id (check_batch_reuse: written alike)
        body = merge_run_record(body, read_bytes(loc, rel))
    write_bytes(loc, rel, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())
    return rel


def _day_record(result: DayResult) -> dict:
    """A day of the run record; `committed` lists its partitions, so --repair knows them."""
    body = {k: v for k, v in asdict(result).items() if k != "committed"}
    body["committed"] = result.committed_partitions()
    return body
