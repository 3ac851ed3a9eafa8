"""`generate --repair`: check every partition of the days the lake's runs committed against its
manifest (bytes, sha256, sizes, files), and render only the damaged or missing ones again, each
with its original lineage and writer options, so the lake comes back byte-identical.

The lake alone is enough: `_lake.json` gives seed, window and messiness level, `_config.yaml`
the config, `_runs/*.json` the days, the partitions each run committed and its writer options.

On an Iceberg or Delta lake the repair then brings each table to the partitions it checked or
wrote (one commit per table, only where the table lacks one or lists other files), so the
tables read the clean rows and `verify` passes without re-running the generate.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial

from ecomlake.config import EcomConfig
from ecomlake.errors import OptionError
from ecomlake.lake import (
    LakeLocation,
    PartitionManifest,
    PartitionState,
    PartitionWrite,
    check_partition,
    join,
)
from ecomlake.lake.check import sidecar_problem, survey_table
from ecomlake.lake.fs import check_readable, is_link, list_entries, remove_entry, resolve_target
from ecomlake.lake.identity import (
    CONFIG_FILE,
    LAKE_FILE,
    LakeIdentity,
    read_identity,
    read_lake_config,
)
from ecomlake.lake.lock import LakeLock
from ecomlake.lake.runs import RUNS_DIR, RunRecord, read_run_records
from ecomlake.messiness import RunLevel, level_from_record
from ecomlake.messiness.log import COUNTS_SIDECAR, counts_problem, defect_log_tables
from ecomlake.plan.cache import default_cache_dir, load_or_build_world
from ecomlake.plan.calendar import day_number
from ecomlake.render.registry import INGEST_KEY, SIGNUP_TABLE, table_spec
from ecomlake.run.days import assign_tasks, spread_backlog
from ecomlake.run.driver import GenerateOptions
from ecomlake.run.executors import DayFailure, RunProgress, choose_executor
from ecomlake.run.prepare import lake_identity, level_for, open_target, run_identity
from ecomlake.run.sizing import estimate_work
from ecomlake.run.task import DayResult, DayTask, WriteSettings
from ecomlake.tables import TableCommitter, commit_failure, open_tables
from ecomlake.tables.detect import lake_format, lake_tables, other_format

log = logging.getLogger(__name__)

_OWNER = "GenerateOptions"  # how errors name the options (the CLI shows its flags)
_CHECK_THREADS = 8  # full checks read every file: overlap the reads on object stores


@dataclass
class RepairResult:
    """What `--repair` checked, found damaged and wrote again."""

    target: str
    checked: int = 0
    damaged: dict[str, str] = field(default_factory=dict)  # partition -> first problem found
    repaired: list[str] = field(default_factory=list)
    unrepairable: dict[str, str] = field(default_factory=dict)  # partition -> why
    failures: list[DayFailure] = field(default_factory=list)
    seconds: float = 0.0
    table_commits: dict[str, int] = field(default_factory=dict)  # table -> partitions it took

    @property
    def ok(self) -> bool:
        return not self.failures and set(self.repaired) >= set(self.damaged)

    def summary(self) -> str:
        """One line: partitions checked, damaged and repaired, and committed to tables that
        lacked them (a Delta log or Iceberg table made again)."""
        failed = f", {len(self.failures)} failed (logged above)" if self.failures else ""
        tables = ", ".join(f"{name} ({count:,})" for name, count in self.table_commits.items())
        tables = f", committed to tables that lacked them: {tables}" if tables else ""
        return (
            f"repair {self.target}: {self.checked:,} partition(s) checked, "
            f"{len(self.damaged):,} damaged, {len(self.repaired):,} repaired{failed}{tables} "
            f"({self.seconds:.1f}s)"
        )


def repair_lake(
    options: GenerateOptions,
    cfg: EcomConfig | None = None,
    progress: RunProgress | None = None,
) -> RepairResult:
    """Check the lake at `options.target` and re-render its damaged partitions byte-identically."""
    started = time.perf_counter()
    loc, lake, cfg, settings = _open_lake(options, cfg)
    tables = _open_tables(loc, options, settings)
    result = RepairResult(options.target)
    with LakeLock(loc, "repair"):
        now = read_identity(loc)
        if now is None or not now.same_world(lake):  # an --overwrite run held the lock meanwhile
            rule = f"{{target}}: {loc.uri} became another lake while this repair started"
            raise OptionError(_OWNER, rule + "; run verify, then repair again", "target")
        records = read_run_records(loc, lake)
        if not records:
            log.warning(
                "no readable run record under %s/: checking the partitions on storage only "
                "(one deleted whole cannot be known)",
                RUNS_DIR,
            )
        _clear_strays(loc, result)
        days, candidates = _days_and_partitions(loc, records)
        result.checked = len(candidates)
        states = _check_all(loc, candidates, settings)
        damaged = {rel: s.problem for rel, s in states.items() if s.problem is not None}
        result.damaged.update(damaged)
        for rel, problem in result.damaged.items():
            log.warning("damaged: %s: %s", rel, problem)
        writes: dict[str, PartitionWrite] = {}
        outcomes: list[DayResult] = []
        for rel in damaged:
            write = _write_for(rel, states[rel].manifest, records)
            if write is None:
                result.unrepairable[rel] = (
                    "no manifest, and no run record lists it: not committed by any run "
                    "(delete the folder if nothing should be there)"
                )
            else:
                writes[rel] = write
        if writes:
            settings = replace(settings, repair=writes)
            outcomes = _render_again(
                cfg, options, lake, days, settings, result, progress or RunProgress()
            )
        if tables is not None:
            _commit_tables(tables, states, outcomes, result)
    for rel, why in result.unrepairable.items():
        log.error("cannot repair %s: %s", rel, why)
    for failure in result.failures:  # a day that failed to render, or a table commit
        log.error(
            "repair failed: %s%s", f"day {failure.day}: " if failure.day else "", failure.error
        )
    result.seconds = time.perf_counter() - started
    return result


def _open_lake(
    options: GenerateOptions, cfg: EcomConfig | None, *, writes: bool = True
) -> tuple[LakeLocation, LakeIdentity, EcomConfig, WriteSettings]:
    """The lake, its config (given or stored) and the settings a repair writes with; a config,
    seed or target that is not the lake's is a one-line ConfigError, before anything is read.
    `writes` False: only read (no write probe), for `verify --deep`."""
    if options.overwrite:
        raise OptionError(
            _OWNER, "{repair}: cannot be combined with {overwrite}", "repair", "overwrite"
        )
    if writes:
        loc = open_target(options.target, options.storage_options)
    else:
        loc = resolve_target(options.target, options.storage_options)
        check_readable(loc)
    lake = read_identity(loc)
    if lake is None:
        rule = f"{{target}}: {loc.uri} holds no lake (no {LAKE_FILE}): nothing to repair"
        raise OptionError(_OWNER, rule, "target")
    cfg = cfg or read_lake_config(loc)
    if cfg is None:
        rule = f"{{config}}: {loc.uri} has no {CONFIG_FILE}; pass the lake's config"
        raise OptionError("", rule, "config")
    recorded = level_from_record(lake.messiness)
    level = level_for(_OWNER, cfg, recorded.name if recorded is not None else "none")
    if recorded is not None:  # the lake's own rates (an exported run dir's have no late rows)
        level = RunLevel(level.name, recorded)
    seed = lake.seed if options.seed is None else options.seed
    identity = run_identity(cfg, seed, level)
    if not lake.same_world(
        lake_identity(identity, lake.world_start, lake.world_end, lake.messiness)
    ):
        rule = (
            f"{{repair}}: {loc.uri} holds a lake made with another config or seed than the one "
            f"given (fingerprint {lake.config_fingerprint[:12]}, seed {lake.seed}); leave out "
            "the config and {seed} to repair it with its own"
        )
        raise OptionError(_OWNER, rule, "repair", "seed")
    settings = WriteSettings(
        target=options.target,
        storage_options=dict(options.storage_options),
        identity=identity,
        skip_committed=False,
        level=level,
    )
    return loc, lake, cfg, settings


def _open_tables(
    loc: LakeLocation, options: GenerateOptions, settings: WriteSettings
) -> TableCommitter | None:
    """The committer of the lake's tables (None for a Parquet lake): the format its folders
    show, with the catalog flags given; a format other than the lake's, or a catalog that cannot
    open, is a one-line ConfigError before anything is written."""
    found = lake_format(loc)
    given = options.tables
    if given.is_table_format and given.format != found:
        raise other_format(given.format, found)
    if found == "parquet":
        return None
    table_options = replace(given, format=found)
    summary = {
        "operation": "repair",
        "seed": str(settings.identity.seed),
        "config_fingerprint": settings.identity.config_fingerprint,
    }
    return open_tables(loc, table_options, summary)


def _commit_tables(
    tables: TableCommitter,
    states: dict[str, PartitionState],
    outcomes: list[DayResult],
    result: RepairResult,
) -> None:
    """Every whole partition the repair checked or rewrote, committed where its table lacks it
    or lists other files (a damaged one rewritten with other sizes replaces its old files)."""
    committed = [
        (rel.split("/", 1)[0], state.manifest.to_json())
        for rel, state in states.items()
        if state.problem is None and state.manifest is not None
    ]
    committed += [item for outcome in outcomes for item in outcome.committed]
    try:
        took = tables.commit_partitions(committed, [], {"repaired": ",".join(result.repaired)})
        result.table_commits = {
            f"{tables.fmt.name} {table}": count for table, count in took.items()
        }
    except Exception as exc:  # a catalog or store error: the data is repaired, the tables not
        result.failures.append(DayFailure("", commit_failure(tables.fmt.name, exc)))


def _clear_strays(loc: LakeLocation, result: RepairResult) -> None:
    """Remove what stands in a table folder beside the partitions and should not (a data file a
    reader would take, a link, a stray folder); a linked table folder is refused, as its
    partitions live outside the lake."""
    for table in lake_tables():
        if is_link(loc, table):
            rule = (
                f"{{repair}}: {loc.display(join(loc.root, table))} is a symbolic link; the lake "
                "is repaired only inside its own folders (replace the link with a folder)"
            )
            raise OptionError(_OWNER, rule, "repair")
        for stray in survey_table(loc, table)[1]:
            rel = f"{table}/{stray.name}"
            result.damaged[rel] = stray.problem
            remove_entry(loc, rel, stray.entry)
            result.repaired.append(rel)


def _days_and_partitions(
    loc: LakeLocation, records: list[RunRecord]
) -> tuple[list[dt.date], list[str]]:
    """The lake's days (its runs', and any day a partition on storage is for: a killed run
    leaves no record) and every partition to check: those the runs committed and every one on
    storage that a task of those days owns."""
    on_disk = [  # partition folders only: a table format's log folder is not one
        f"{table}/{name}" for table in lake_tables() for name in survey_table(loc, table)[0]
    ]
    recorded = {d for r in records for d in r.days}
    days = set(recorded)
    for rel in on_disk:
        key, _, value = rel.split("/", 1)[1].partition("=")
        day = _date(value) if key == INGEST_KEY else None
        if day is not None:
            days.add(day)
    # Verify fails such days as unexpected and a repair cannot record them. (An export-raw
    # lake's records list no days at all: its days are not "in no run record".)
    if recorded and days - recorded:
        log.warning(
            "%d day(s) on storage are in no run record (an interrupted run?), e.g. %s: the "
            "repair checks them; re-run the generate command that made the lake to record them",
            len(days - recorded),
            min(days - recorded),
        )
    ordered = sorted(days)
    found = {p for r in records for p in r.partitions | r.kept}
    if ordered:
        found.update(rel for rel in on_disk if _in_days(rel.split("/", 1)[1], ordered))
    return ordered, sorted(found)


def _in_days(partition: str, days: list[dt.date]) -> bool:
    """Whether one of the run days' tasks owns `key=value` (see run/days.py)."""
    key, _, value = partition.partition("=")
    if key == INGEST_KEY:
        return _date(value) in days
    if key == table_spec(SIGNUP_TABLE).partition_key:
        signup = _date(value)
        return signup is not None and signup <= days[-1]
    return bool(key)  # the catalog: the first task owns it


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _check_all(
    loc: LakeLocation, partitions: list[str], settings: WriteSettings, *, full: bool = True
) -> dict[str, PartitionState]:
    """Each partition's state; a full check also reads a defect log's counts sidecar."""
    logs = set(defect_log_tables())

    def check(rel: str) -> PartitionState:
        state = check_partition(loc, rel, settings.identity, full=full)
        if not full or state.problem is not None or rel.split("/", 1)[0] not in logs:
            return state
        assert state.manifest is not None
        judge = partial(counts_problem, level=settings.level.name)
        problem = sidecar_problem(
            loc, state.manifest, list_entries(loc, rel), *COUNTS_SIDECAR, judge
        )
        return state if problem is None else PartitionState(state.manifest, problem)

    with ThreadPoolExecutor(max_workers=_CHECK_THREADS, thread_name_prefix="check") as pool:
        return dict(zip(partitions, pool.map(check, partitions), strict=True))


def _write_for(
    rel: str, manifest: PartitionManifest | None, records: list[RunRecord]
) -> PartitionWrite | None:
    """How `rel` was written. A manifest naming a batch that no run record has was written by
    a run that left none (killed, or stopped by an error before it could record): its own
    lineage and writer. Otherwise the record of the manifest's batch if it committed it (a
    record file per batch), else the latest run record that committed it (the manifest may be
    the damaged file), else
    its manifest's, else the latest run that found it committed (a re-run that pinned the same
    --batch-id replaced the writer's record; with pinned lineage it is the same), else None."""
    if manifest is not None:
        own = PartitionWrite.from_record(manifest.batch_id, manifest.created_at, manifest.writer)
        batch = [r for r in records if r.batch_id == manifest.batch_id]  # one record a batch
        if not batch:
            return own
        if rel in batch[0].partitions and batch[0].write is not None:
            return batch[0].write
    wrote = [r.write for r in records if rel in r.partitions and r.write is not None]
    if wrote:
        return wrote[-1]
    if manifest is not None:
        return own
    kept = [r.write for r in records if rel in r.kept and r.write is not None]
    return kept[-1] if kept else None


def _render_again(
    cfg: EcomConfig,
    options: GenerateOptions,
    lake: LakeIdentity,
    days: list[dt.date],
    settings: WriteSettings,
    result: RepairResult,
    progress: RunProgress,
) -> list[DayResult]:
    """Plan the world, run the tasks that own a damaged partition, record what they wrote;
    the days' results."""
    assert settings.repair is not None
    first = day_number(dt.date.fromisoformat(lake.world_start))
    last = day_number(dt.date.fromisoformat(lake.world_end))
    cache_dir = default_cache_dir() if options.plan_cache else None
    world, _ = load_or_build_world(cfg, settings.identity.seed, first, last, cache_dir)
    tasks = spread_backlog(assign_tasks(days, world.signup_days()))
    owned: dict[int, DayTask] = {}
    for rel in settings.repair:
        task = _owner(rel, tasks)
        if task is None:
            result.unrepairable[rel] = "no run day's task owns it"
        else:
            owned[task.day] = task
    chosen = [owned[day] for day in sorted(owned)]
    work = estimate_work(world, chosen)  # whole days: overstates a repair of a few partitions
    executor = choose_executor(
        options.executor, options.workers, options.ray_address, len(chosen), work
    )
    outcomes: list[DayResult] = []
    try:
        executor.start()
        for outcome in executor.map_days(world, chosen, settings):
            if isinstance(outcome, DayFailure):
                result.failures.append(outcome)
            else:
                result.repaired += outcome.committed_partitions()
                outcomes.append(outcome)
            progress.outcome(outcome, len(chosen))
    finally:
        executor.close()
    result.repaired[:] = sorted(set(result.repaired))  # a link taken away, then rendered
    return outcomes


def _owner(rel: str, tasks: Iterable[DayTask]) -> DayTask | None:
    """The task that renders partition `rel` (each partition has exactly one)."""
    key, _, value = rel.split("/", 1)[1].partition("=")
    if key == INGEST_KEY:
        day = day_number(dt.date.fromisoformat(value))
        return next((t for t in tasks if t.day == day), None)
    if key == table_spec(SIGNUP_TABLE).partition_key:
        day = day_number(dt.date.fromisoformat(value))
        return next((t for t in tasks if day in t.signup_days), None)
    return next((t for t in tasks if t.owns_catalog), None)


@dataclass
class DeepCheck:
    """What `verify --deep` rendered again: partitions compared, those whose files differ from
    a fresh render (and how), those it could not compare (and why), days that failed."""

    checked: int = 0
    differ: dict[str, str] = field(default_factory=dict)
    unchecked: dict[str, str] = field(default_factory=dict)
    failures: list[DayFailure] = field(default_factory=list)


def render_and_compare(
    options: GenerateOptions, cfg: EcomConfig | None = None, progress: RunProgress | None = None
) -> DeepCheck:
    """Render every partition of the lake again, as `--repair` would write it (its config, seed,
    day and original lineage), without writing, and compare each file's sha256 and rows with the
    lake's manifest. A manifest edited to match edited files passes every other check; this is
    the one that knows what the bytes must be."""
    loc, lake, cfg, settings = _open_lake(options, cfg, writes=False)
    records = read_run_records(loc, lake)
    days, candidates = _days_and_partitions(loc, records)
    found = DeepCheck()
    writes: dict[str, PartitionWrite] = {}
    stored: dict[str, PartitionManifest] = {}
    for rel, state in _check_all(loc, candidates, settings, full=False).items():
        write = None if state.manifest is None else _write_for(rel, state.manifest, records)
        if state.manifest is None or write is None:
            found.unchecked[rel] = state.problem or "no run record says how it was written"
            continue
        writes[rel], stored[rel] = write, state.manifest
    scratch = RepairResult(options.target)
    dry = replace(settings, repair=writes, dry=True)
    outcomes = _render_again(cfg, options, lake, days, dry, scratch, progress or RunProgress())
    found.failures = scratch.failures
    found.unchecked.update(scratch.unrepairable)
    rendered = {
        f"{table}/{manifest.partition}": manifest
        for outcome in outcomes
        for table, manifest in ((t, PartitionManifest.from_json(m)) for t, m in outcome.committed)
    }
    for rel, have in stored.items():
        want = rendered.get(rel)
        if rel in found.unchecked or (want is None and found.failures):
            found.unchecked.setdefault(rel, "its day failed to render")
            continue
        found.checked += 1
        problem = _differs(have, want)
        if problem:
            found.differ[rel] = problem
    return found


def _differs(have: PartitionManifest, want: PartitionManifest | None) -> str | None:
    """How the lake's manifest differs from a fresh render's, or None when they agree."""
    if want is None:
        return "a fresh render gives no such partition"
    mine = {f.path: (f.rows, f.checksum) for f in have.files}
    fresh = {f.path: (f.rows, f.checksum) for f in want.files}
    for path in sorted(mine.keys() | fresh.keys()):
        if path not in fresh:
            return f"{path} is not in a fresh render"
        if path not in mine:
            return f"{path} of a fresh render is not in the lake"
        if mine[path][0] != fresh[path][0]:
            return f"{path}: {mine[path][0]} rows, a fresh render has {fresh[path][0]}"
        if mine[path][1] != fresh[path][1]:
            return f"{path}: its bytes (sha256) differ from a fresh render's"
    return None
