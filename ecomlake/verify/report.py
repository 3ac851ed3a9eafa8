"""`verify`: manifests, invariants and the plan's partitions of a whole lake in one report a
person or a script reads."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import duckdb
import pyarrow as pa

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError, OptionError, StorageError
from ecomlake.lake.fs import exists, resolve_target
from ecomlake.lake.identity import read_identity
from ecomlake.lake.lock import live_holder
from ecomlake.lake.retry import describe, is_transient
from ecomlake.messiness import expected_breaks, level_from_record
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.tables.verify import check_tables
from ecomlake.verify.defects import DefectCheck, check_against_defects, late_rows_cut_off
from ecomlake.verify.expected import (
    check_expected,
    lake_file_violations,
    outside_ranges,
    plan_lake,
)
from ecomlake.verify.invariants import (
    LEFT_OUT_FAMILY,
    OUTSIDE_FAMILY,
    REQUIRED_TABLES,
    Violation,
    check_invariants,
)
from ecomlake.verify.manifests import check_manifests
from ecomlake.verify.repair_command import repair_command
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT

# What only a re-run of the command that made the lake fixes: a killed run's days are on
# storage but in no run record; lost lake files are written again by any run.
RERUN_CHECKS = frozenset(
    {
        "expected.unexpected_partition",
        "lake.config_missing",
        "lake.identity_missing",
        "lake.run_records_missing",
        "lake.run_unfinished",
    }
)
# A run that stopped half-way: what else fails is what it has not written yet, so the re-run
# is the one fix to give (it also rewrites a damaged partition); a repair would find nothing.
ONLY_RERUN = frozenset({"lake.run_unfinished"})
# What --repair cannot fix alone: a damaged run record (the repair cannot know what it said;
# moved aside, the lake's other records and manifests are enough), a day that failed to render
# again, a partition whose manifest agrees with its altered files (deleted, it is repaired), and
# a file of someone else's that readers trip on (the repair leaves it alone).
NOT_REPAIRED = RERUN_CHECKS | {
    "lake.run_record_unreadable",
    "deep.not_run",
    "deep.differs",
    "manifests.foreign_file",  # someone's file: its rule says how to fix it
    "tables.unreadable",  # the repair cannot read the table either: its detail says what can
}
# What the repair learns from the run records: without them (a run killed before it recorded
# its days), a partition that was never written is not seen, and only a re-run writes it.
NEED_RECORDS = frozenset({"expected.missing_partition"})
DEEP_FIX = "to restore one, delete its folder and run the repair command"
DEEP_HINT = (
    "every partition matches its manifest, so a repair finds nothing: verify again with --deep "
    "to find the partitions whose rows differ from a fresh render"
)
WRITING_HINT = (
    "the run writing this lake is not done, so its missing days may only be pending; verify "
    "again when it ends (a re-run or a repair would be refused while it holds the lock)"
)
RERUN_HINT = (
    "the generate command that made the lake, with the same options (a run that was interrupted "
    "records its days when it completes; committed partitions are kept, not rewritten)"
)


@dataclass
class VerifyReport:
    """What was checked and what broke; `ok` is true when nothing did.

    On a messy lake, invariant checks its level is expected to break are listed in `expected`
    and do not fail the lake; `defects` is the `--against-defects` result, when asked for.
    References to rows the plan dates outside the lake's days are listed in `outside`, and
    never fail it either.
    """

    target: str
    manifest_violations: list[Violation] = field(default_factory=list)
    invariant_violations: list[Violation] = field(default_factory=list)
    level: str | None = None
    expected: list[Violation] = field(default_factory=list)
    defects: DefectCheck | None = None
    seconds: float = 0.0
    planned: str = ""  # what the plan says the lake holds; empty when it could not be planned
    partition_violations: list[Violation] = field(default_factory=list)  # against the plan
    deep: str = ""  # `--deep`: what was rendered again; empty when not asked
    deep_violations: list[Violation] = field(default_factory=list)  # against a fresh render
    outside: list[Violation] = field(default_factory=list)  # references outside this lake
    skipped: list[str] = field(default_factory=list)  # checks not run, and why
    repair_command: str = ""  # what the user runs when the lake fails (printed last)
    writing: str = ""  # the run holding the lake's lock while verify read it, if any

    @property
    def violations(self) -> list[Violation]:
        undo = self.defects.violations if self.defects is not None else []
        found = self.manifest_violations + self.invariant_violations
        return found + self.partition_violations + self.deep_violations + undo

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> str:
        busy = bool(self.writing)  # the run writing the lake comes first: no advice yet
        body = {
            "target": self.target,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "violations": [asdict(v) for v in self.violations],
            "messiness_level": self.level,
            "expected_by_level": [asdict(v) for v in self.expected],
            "planned": self.planned or None,
            "rendered_again": self.deep or None,
            "outside_lake": [asdict(v) for v in self.outside],
            "skipped": self.skipped,
            "repair_command": self.repair_command if self._repair_helps and not busy else None,
            "rerun_needed": self.rerun_needed and not busy,
            "run_writing": self.writing or None,
        }
        if self.defects is not None:
            body["against_defects"] = {
                "partitions_matched": self.defects.matched,
                "partitions_not_checkable": self.defects.unchecked,
            }
        return json.dumps(body, indent=2, sort_keys=True)

    def to_text(self) -> str:
        lines = [f"verify {self.target}"]
        if self.writing:
            lines.append(
                f"  note: a run is writing this lake ({self.writing}): what it has not committed "
                "yet shows as missing or unexpected; verify again when it is done"
            )
        for name, found in (
            ("manifests", self.manifest_violations),
            ("invariants", self.invariant_violations),
        ):
            lines.append(f"  {name}: {'ok' if not found else f'{len(found)} problem(s)'}")
            lines.extend(f"    FAIL {v.check}: {v.detail}" for v in found)
        lines.extend(self._plan_lines())
        if self.expected:
            lines.append(f"  broken as {self.level} is expected to break: {len(self.expected)}")
            lines.extend(f"    EXPECTED {v.check}: {v.count} row(s)" for v in self.expected)
        if self.defects is not None:
            undo = self.defects
            state = "ok" if not undo.violations else f"{len(undo.violations)} problem(s)"
            lines.append(
                f"  against defects: {state} ({undo.matched} partition(s) undone to their clean "
                f"rows, {len(undo.unchecked)} not checkable: late rows landed outside the lake)"
            )
            lines.extend(f"    FAIL {v.check}: {v.detail}" for v in undo.violations)
        lines.append(f"result: {'ok' if self.ok else 'FAILED'} ({self.seconds:.1f}s)")
        if self.writing and not self.ok:  # a re-run or a repair would be refused by its lock
            lines.append(f"wait: {WRITING_HINT}")
            return "\n".join(lines)
        if self.rerun_needed:
            lines.append(f"re-run: {RERUN_HINT}")
        if self._repair_helps:
            then = (
                ""
                if self._repaired_alone
                else "delete the folders of the partitions that differ, then: "
            )
            lines.append(f"repair: {then}{self.repair_command}")
        elif self.invariant_violations and not self.deep and not self.rerun_needed:
            lines.append(f"deep: {DEEP_HINT}")
        return "\n".join(lines)

    def add_render_check(
        self, checked: int, differ: dict[str, str], unchecked: int, failures: list[str]
    ) -> None:
        """The result of rendering the lake again (`verify --deep`, run/repair.py): partitions
        compared, those whose files differ from a fresh render and how, those that could not
        be compared (the manifests checks say why), days that failed to render."""
        self.deep = f"{checked} partition(s) compared with a fresh render"
        if unchecked:
            self.deep += f", {unchecked} not comparable (see the manifests checks)"
        if differ:
            where = [f"{rel} ({why})" for rel, why in differ.items()]
            rule = f"each partition holds the bytes a fresh render gives; {DEEP_FIX}"
            self.deep_violations.append(
                Violation.of("deep.differs", rule, len(where), where, "partition(s)")
            )
        if failures:
            rule = "every day renders again"
            self.deep_violations.append(
                Violation.of("deep.not_run", rule, len(failures), failures, "day(s)")
            )

    @property
    def rerun_needed(self) -> bool:
        """Whether a violation is one only a re-run of the generate fixes (`--repair` writes
        what run records list, so it cannot record an interrupted run's days)."""
        return any(v.check in RERUN_CHECKS for v in self.violations)

    @property
    def _repaired_alone(self) -> bool:
        """Whether a violation is one the repair command fixes by itself: a partition that is
        not what its manifest or the plan says. Rows that break a rule in partitions that match
        their manifests (edited with them) are not seen by it: `--deep` finds those."""
        stored = [*self.manifest_violations, *self.partition_violations, *self.deep_violations]
        not_repaired = NOT_REPAIRED
        if any(v.check == "lake.run_records_missing" for v in self.violations):
            not_repaired |= NEED_RECORDS
        return any(v.check not in not_repaired for v in stored)

    @property
    def _repair_helps(self) -> bool:
        """Whether the repair command fixes something, alone or once the partitions that differ
        from a fresh render are deleted."""
        checks = {v.check for v in self.violations}
        if checks & ONLY_RERUN:
            return False
        return bool(self.repair_command) and (self._repaired_alone or "deep.differs" in checks)

    def _plan_lines(self) -> list[str]:
        """The expected-partitions section, references outside the lake, what was skipped."""
        lines = []
        if self.planned:
            found = self.partition_violations
            state = "ok" if not found else f"{len(found)} problem(s)"
            lines.append(f"  expected partitions: {state} (plan: {self.planned})")
            lines.extend(f"    FAIL {v.check}: {v.detail}" for v in found)
        if self.outside:
            total = sum(v.count for v in self.outside)
            lines.append(f"  references outside this lake: {total} (not failures)")
            lines.extend(f"    {v.check.split('.', 1)[1]}: {v.detail}" for v in self.outside)
        if self.deep:
            found = self.deep_violations
            state = "ok" if not found else f"{len(found)} problem(s)"
            lines.append(f"  rendered again: {state} ({self.deep})")
            lines.extend(f"    FAIL {v.check}: {v.detail}" for v in found)
        lines.extend(f"  skipped: {reason}" for reason in self.skipped)
        return lines


def verify_lake(
    target: str,
    config: EcomConfig | None = None,
    storage_options: dict | None = None,
    against_defects: bool = False,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    on_ray: bool = False,
) -> VerifyReport:
    """Check every partition's manifest and every data invariant of the lake at `target`.

    A messy lake (its `_lake.json` names the level) may break the checks its level lists
    (`expected_breaks`); every other check must hold. `against_defects` also undoes the log.
    The lake's partitions are checked against its plan (`config`, else its `_config.yaml`),
    when it can be planned; `skipped` says why not.
    `memory_limit` holds the invariants' DuckDB; `on_ray` checks the partitions as Ray tasks.
    """
    started = time.perf_counter()
    loc = resolve_target(target, storage_options)
    if not any(exists(loc, name) for name in TABLE_NAMES):
        raise ConfigError(f"target: no lake at {target} (none of its table folders exist)")
    lake = read_identity(loc)
    level = level_from_record(lake.messiness if lake is not None else None)
    report = VerifyReport(target, level=level.name if level is not None else None)
    planned, why = plan_lake(loc, lake, config)  # a config of another lake fails here
    outside = None
    if planned is None:
        report.skipped.append(f"expected partitions and references outside this lake: {why}")
    else:
        report.planned = str(planned)
        report.partition_violations = check_expected(loc, planned)
        outside = outside_ranges(planned)
        config = planned.world.config  # the stored config's rules run too
    report.repair_command = repair_command(target, storage_options)
    holder = live_holder(loc)
    report.writing = holder.describe() if holder is not None else ""
    report.defects = check_against_defects(target, storage_options) if against_defects else None
    report.manifest_violations = lake_file_violations(loc, lake)
    report.manifest_violations += check_manifests(target, storage_options, on_ray=on_ray)
    report.manifest_violations += check_tables(loc)  # Iceberg/Delta: tables = manifests
    try:
        found = check_invariants(
            target,
            config,
            storage_options,
            outside,
            memory_limit=memory_limit,
            required=REQUIRED_TABLES if planned is None else planned.tables(REQUIRED_TABLES),
        )
    except duckdb.OutOfMemoryException as exc:  # the limit, not the lake: no repair hint
        rule = (
            f"{{memory_limit}}: the invariants need more than {memory_limit} "
            f"(and room to spill under $TMPDIR): raise it ({str(exc).splitlines()[0]})"
        )
        raise OptionError("", rule, "memory_limit") from None
    except (duckdb.Error, pa.ArrowException, OSError) as exc:  # e.g. a truncated part file
        if is_transient(exc):  # the store stopped answering: the lake was not read, not bad
            raise StorageError(f"{target}: reading the data failed ({describe(exc)})") from exc
        reason = str(exc).strip().splitlines()[0]
        found = [Violation("invariants.not_run", f"the data could not be read: {reason}", 1)]
    report.outside = [v for v in found if v.check.startswith(f"{OUTSIDE_FAMILY}.")]
    left_out = [v for v in found if v.check.startswith(f"{LEFT_OUT_FAMILY}.")]
    report.skipped += [f"{v.check.split('.', 1)[1]}: {v.detail}" for v in left_out]
    found = [v for v in found if v not in report.outside and v not in left_out]
    cut_off = (
        level is not None and level.late_arrival > 0 and late_rows_cut_off(target, storage_options)
    )
    allowed = expected_breaks(level, late_cut_off=cut_off)
    report.expected = [v for v in found if v.check in allowed]
    report.invariant_violations = [v for v in found if v.check not in allowed]
    report.seconds = time.perf_counter() - started
    return report
