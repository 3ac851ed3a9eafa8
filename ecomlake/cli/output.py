"""Everything the CLI prints: logging setup, the progress bar and the end-of-run summary."""

from __future__ import annotations

import json
import logging
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ecomlake.run.driver import RunResult
from ecomlake.run.executors import Outcome
from ecomlake.run.task import DayResult

err_console = Console(stderr=True)
out_console = Console()


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(body, sort_keys=True)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests and callers may swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str, fmt: str) -> None:
    """Root logging to stderr in text or one JSON object per line."""
    handler = _StderrHandler()
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in (
        "botocore",
        "boto3",
        "s3fs",
        "gcsfs",
        "aiobotocore",
        "urllib3",
        "google",
        "pyiceberg",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # credential discovery warns while probing; our preflight says what is missing in one line
    logging.getLogger("google.auth").setLevel(logging.ERROR)


class DayProgress:
    """A progress bar of days done, rows written and rows per second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.rows = 0
        self.started = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]days"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[rows]:,} rows"),
            TextColumn("{task.fields[rate]:,.0f} rows/s"),
            TimeElapsedColumn(),
            console=err_console,
            disable=not enabled,
        )
        self._task = None

    def __enter__(self) -> DayProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._progress.stop()

    def planned(self, total_days: int) -> None:
        """Start the bar once the plan exists, so that input errors print alone."""
        self.started = time.perf_counter()
        self._progress.start()
        self._task = self._progress.add_task("days", total=total_days, rows=0, rate=0.0)

    def advance(self, outcome: Outcome, _total: int) -> None:
        if isinstance(outcome, DayResult):
            self.rows += outcome.total_rows
        rate = self.rows / max(time.perf_counter() - self.started, 1e-9)
        self._progress.update(self._task, advance=1, rows=self.rows, rate=rate)


def print_summary(result: RunResult) -> None:
    """Rows per table, days committed and failed, speed and where the run manifest is."""
    table = Table(title=f"ecomlake run {result.batch_id}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in result.rows_by_table().items():
        table.add_row(name, f"{rows:,}")
    table.add_row("[bold]total", f"[bold]{result.total_rows:,}")
    out_console.print(table)
    rate = result.total_rows / max(result.total_seconds, 1e-9)
    written = sum(r.partitions for r in result.results)
    skipped = sum(r.skipped for r in result.results)
    days = {r.day for r in result.results}
    # a day whose data committed but whose table commit failed is in both lists: say which
    tables_failed = [f for f in result.failures if f.day in days or not f.day]
    days_failed = [f.day for f in result.failures if f not in tables_failed]
    failed = ", ".join(days_failed)
    lines = [
        f"days committed: {len(result.results)}, failed: {len(days_failed)}"
        + (f" ({failed}: each error is logged above)" if failed else ""),
        f"partitions written: {written:,}, already committed (skipped): {skipped:,}",
        f"world {result.world_start}..{result.world_end}; {result.total_seconds:.1f}s "
        f"{'on Ray' if result.executor == 'ray' else 'in-process'} "
        f"({result.plan_seconds:.1f}s plan{', from cache' if result.plan_cached else ''}), "
        f"{rate:,.0f} rows/s",
        f"lake: {result.target}  run manifest: {result.manifest_path or 'not written'}",
    ]
    if tables_failed:
        lines.insert(
            1,
            f"table commits failed: {len(tables_failed)} (the data is in the lake; the errors "
            "are logged above; re-run to commit it)",
        )
    for line in lines:  # the errors themselves were logged once as they happened
        out_console.print(line, soft_wrap=True, highlight=False)
    if result.interrupted:
        err_console.print(
            f"interrupted: {len(result.results)} of {result.planned_days} days committed; "
            "re-run the same command to resume",
            soft_wrap=True,
            highlight=False,
        )
