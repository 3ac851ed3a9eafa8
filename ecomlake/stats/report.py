"""`stats_lake`: every knob family's configured value, the model's expectation in the lake's
window and the lake's realized value, in one report (text table, JSON, HTML)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError
from ecomlake.plan.cache import default_cache_dir, load_or_build_world
from ecomlake.plan.world import WorldPlan
from ecomlake.stats.chart_data import collect
from ecomlake.stats.checks import Check, judge, z_limit
from ecomlake.stats.funnel import funnel_checks
from ecomlake.stats.held import HeldDays
from ecomlake.stats.mixes import mix_checks
from ecomlake.stats.money import money_checks
from ecomlake.stats.replicates import (
    DEFAULT_REPLICATES,
    lake_months,
    lake_people,
    lake_reactivated,
    replicate_checks,
    statistics,
)
from ecomlake.stats.returns import return_checks, return_facts
from ecomlake.stats.source import PENDING_DAYS, LakeSource, describe_lake, lake_database
from ecomlake.verify.invariants import left_out_column
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT


@dataclass
class StatsReport:
    """The checks of one lake; `ok` is false when any judged row failed."""

    lake: str
    window: tuple[str, str]
    checks: list[Check]
    days_held: int = 0  # days of the window the lake's runs wrote (fewer: a partial lake)
    notes: list[str] = field(default_factory=list)
    charts: dict = field(default_factory=dict)  # what the HTML report draws

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def to_json(self) -> str:
        body = {
            "lake": self.lake,
            "window": list(self.window),
            "days_held": self.days_held,
            "checks": [c.as_json() for c in self.checks],
        }
        return json.dumps(body, indent=2)

    def to_text(self, width: int = 160) -> str:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"stats {self.lake}  {self.window[0]}..{self.window[1]}")
        for name in COLUMNS:
            table.add_column(name, overflow="fold")
        for c in self.checks:
            table.add_row(*cells(c, short_knob=True))
        out = io.StringIO()
        console = Console(file=out, width=width, color_system=None, force_terminal=False)
        console.print(table)
        failed = sum(c.ok is False for c in self.checks)
        judged = sum(c.ok is not None for c in self.checks)
        for note in self.notes:
            console.print(f"note: {note}")
        console.print(
            f"result: {'ok' if self.ok else 'FAILED'} ({failed} of {judged} judged rows not ok)"
        )
        return out.getvalue().rstrip()


COLUMNS = ("knob", "segment", "configured", "expected", "realized", "n", "z", "ok")


def cells(check: Check, short_knob: bool = False) -> tuple[str, ...]:
    """A row's values as shown under COLUMNS (the text table drops the `parameters.` prefix)."""
    knob = check.knob.removeprefix("parameters.") if short_knob else check.knob
    z = "" if check.z is None else f"{check.z:+.2f}"
    shown = (show(check.configured), show(check.expected), show(check.realized))
    return (knob, check.segment or "", *shown, str(check.n), z, verdict(check))


def show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def verdict(check: Check) -> str:
    if check.ok is None:
        return f"- ({check.note})" if check.note else "-"
    return "ok" if check.ok else "NOT OK"


def stats_lake(
    target: str,
    config: EcomConfig | None = None,
    storage_options: dict | None = None,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    replicates: int = DEFAULT_REPLICATES,
) -> StatsReport:
    """Compare the lake at `target` with `config` (default: the config it stores).

    The lake's seed and window come from `_lake.json`; its tables are read with DuckDB on disk
    under `memory_limit`; expectations come from the plan of that config and window.
    """
    src = describe_lake(target, config, storage_options)
    world, _ = load_or_build_world(
        src.config, src.seed, src.start_day, src.end_day, default_cache_dir()
    )
    messy = src.messy_level is not None
    try:
        report = _report(src, world, storage_options, memory_limit, replicates, clean=messy)
    except KeyError as exc:  # the log names a row the lake lacks: judge the rows as stored
        report = _report(src, world, storage_options, memory_limit, replicates, clean=False)
        report.notes.append(f"the defect log could not be undone ({exc.args[0]})")
    return report


def _report(
    src: LakeSource,
    world: WorldPlan,
    storage_options: dict | None,
    memory_limit: str,
    replicates: int,
    *,
    clean: bool,
) -> StatsReport:
    target = src.target
    held = HeldDays(src.held)
    import duckdb

    with lake_database(target, storage_options, memory_limit, clean=clean) as con:
        try:
            facts = return_facts(con, held)
            checks = mix_checks(con, src, world) + funnel_checks(con, world, held)
            checks += return_checks(facts, world) + money_checks(con, world)
            realized = statistics(lake_people(con), lake_months(con), lake_reactivated(con))
            checks += replicate_checks(realized, world, replicates, held)
            charts = collect(con, world, facts, src.held)
            (pending,) = con.execute(f"SELECT count(*) FROM {PENDING_DAYS}").fetchone()
        except duckdb.BinderException as exc:
            column = left_out_column(con, str(exc).splitlines()[0])
            if not column:
                raise
            raise ConfigError(
                f"target: {target}: the report needs {column}, which the lake's config leaves "
                "out (tables[].columns)"
            ) from None
    window = (str(src.start), str(src.end))
    report = StatsReport(target, window, judge(checks), src.days_held, charts=charts)
    report.notes = _notes(src, report, replicates, clean)
    if pending:
        report.notes.append(
            f"the carts of {pending} day(s) are left out of the cart-size rows: some of their "
            "lines arrive late on days the lake does not hold yet; rows counting carts, orders "
            "or lines are judged on the rows the lake holds (their n), without those late ones"
        )
    return report


def _notes(src: LakeSource, report: StatsReport, replicates: int, clean: bool) -> list[str]:
    scored = sum(c.z is not None for c in report.checks)
    notes = [
        f"|z| limit {z_limit(scored):.2f} for {scored} z-scored rows (Bonferroni, family "
        f"alpha 0.001); replicate rows widen it for their {replicates} plan replicates",
        "expected = the model's value in this window: returns and visits dated past the window "
        "end are never made",
    ]
    if src.partial:
        notes.append(
            f"the lake holds {src.days_held} of the window's {src.window_days} days: visits, "
            "conversion order, returns and tiers are expected for the days it holds"
        )
    if src.messy_level is not None:
        state = (
            "realized values are read from its clean truth (defect log undone)"
            if clean
            else "realized values are read from the rows as stored, defects included"
        )
        notes.append(f"messy lake ({src.messy_level}): {state}")
    return notes
