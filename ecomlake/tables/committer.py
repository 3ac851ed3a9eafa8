"""The driver's side of a table format: every finished day's partitions become table commits.

Workers only write Parquet; the driver hands each day's result to a committer thread, which
gathers the days that finish within a few seconds and commits them together, one commit per
table (an Iceberg commit costs ~0.1 s and its metadata grows with every snapshot). A day is
never split across commits of a table, so an interruption leaves whole days committed; a
re-run reads what each table holds and adds only what is missing (the partitions a run finds
already written in the lake, too: written but never committed, they are reused).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from ecomlake.errors import ConfigError
from ecomlake.lake import MANIFEST_NAME, LakeLocation, PartitionManifest, read_bytes
from ecomlake.lake.fs import remove_tree
from ecomlake.run.executors import DayFailure
from ecomlake.run.task import DayResult
from ecomlake.tables.base import TableFormat
from ecomlake.tables.damage import TableDamage, metadata_folder, one_line, table_damage
from ecomlake.tables.files import TablePartition

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 900.0  # the last commits of a long backlog; a stuck catalog fails the run after
GATHER_S = 5.0  # a commit takes the days that finish within this long of the first one
_DONE = None


class TableCommitError(Exception):
    """Some tables of a commit failed; the message names each with its error."""


class TableCommitter:
    """Mirrors the lake's committed partitions into `fmt`'s tables, from a background thread."""

    def __init__(self, fmt: TableFormat, loc: LakeLocation, summary: dict[str, str]) -> None:
        self.fmt = fmt
        self._loc = loc
        self._summary = summary  # batch id, seed, config fingerprint: on every commit
        self._live: dict[str, dict[str, int]] = {}  # table -> {path: size} it holds
        self._queue: queue.Queue[DayResult | None] = queue.Queue()
        self._failures: list[DayFailure] = []
        self.commits = 0
        self.gather_s = GATHER_S
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._drain, name="table-commits", daemon=True)

    def add(self, result: DayResult) -> None:
        """Queue a day whose partitions are all written (never blocks the dispatch loop)."""
        if not self._thread.is_alive():
            self._thread.start()
        self._queue.put(result)

    def close(self, timeout: float = CLOSE_WAIT_S) -> list[DayFailure]:
        """Commit what is queued, stop; the days whose commit failed, as failures."""
        if self._thread.ident is None:
            return []
        self._queue.put(_DONE)
        self._thread.join(timeout)
        if self._thread.is_alive():
            return [DayFailure("", f"{self.fmt.name}: table commits unfinished after {timeout}s")]
        return self._failures

    def _drain(self) -> None:
        while True:
            group = [self._queue.get()]
            deadline = time.monotonic() + self.gather_s  # more days per commit on a backlog
            while group[-1] is not _DONE:
                try:
                    group.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            days = [r for r in group if r is not _DONE]
            if days:
                self._commit_group(days)
            if group[-1] is _DONE:
                return

    def _commit_group(self, results: list[DayResult]) -> None:
        t0 = time.perf_counter()
        try:
            self.commit_days(results)
        except Exception as exc:  # a catalog or store error: the run fails, a re-run completes
            why = commit_failure(self.fmt.name, exc)
            if not isinstance(exc, TableCommitError):  # those were logged table by table
                log.error("%d day(s): %s", len(results), why)
            self._failures += [DayFailure(r.day, why) for r in results]
        self.seconds += time.perf_counter() - t0

    def commit_days(self, results: list[DayResult]) -> None:
        """One commit per table for these days' partitions that the table lacks or holds stale."""
        self.commit_partitions(
            [item for r in results for item in r.committed],
            [rel_dir for r in results for rel_dir in r.kept],
            {"days": ",".join(sorted({r.day for r in results}))},
        )

    def commit_partitions(
        self, committed: list[tuple[str, str]], kept: list[str], note: dict[str, str]
    ) -> dict[str, int]:
        """One commit per table: the `committed` partitions (table, manifest JSON) the table
        lacks or holds at other files or sizes, and the `kept` ones (`table/key=value`, found
        committed in the lake) that it lacks; `note` goes into every commit's summary. A table
        that fails does not stop the others; each failure is logged naming its table, then
        raised together as one TableCommitError. Returns how many partitions each table took."""
        by_table: dict[str, dict[str, TablePartition]] = {}
        for table, text in committed:
            part = TablePartition.from_manifest(self._loc, PartitionManifest.from_json(text))
            by_table.setdefault(table, {})[part.rel_dir] = part
        kept_by_table: dict[str, list[str]] = {}
        for rel_dir in kept:
            kept_by_table.setdefault(rel_dir.split("/", 1)[0], []).append(rel_dir)
        summary = {**self._summary, **note}
        failed: list[str] = []
        took: dict[str, int] = {}
        for table in sorted(by_table.keys() | kept_by_table.keys()):
            parts = by_table.get(table, {})
            try:
                for rel_dir in kept_by_table.get(table, []):
                    if rel_dir not in parts and not self._holds(table, rel_dir):
                        manifest = PartitionManifest.from_json(
                            read_bytes(self._loc, f"{rel_dir}/{MANIFEST_NAME}")
                        )
                        parts[rel_dir] = TablePartition.from_manifest(self._loc, manifest)
                if parts and (count := self._commit_table(table, list(parts.values()), summary)):
                    took[table] = count
            except Exception as exc:  # a catalog or store error: the other tables go on
                why = str(exc) if isinstance(exc, TableDamage) else f"{table}: {one_line(exc)}"
                log.error("%s table %s", self.fmt.name, why)
                failed.append(why)
        if failed:
            raise TableCommitError("; ".join(failed))
        return took

    def _commit_table(self, table: str, parts: list[TablePartition], summary: dict) -> int:
        """Commit the parts the table does not hold as written; how many that was."""
        live = self.live(table)
        added: list[TablePartition] = []
        removed: list[str] = []
        for part in parts:
            new = {f.path: f.size for f in part.files}
            held = {p: s for p, s in live.items() if p.startswith(f"{part.rel_dir}/")}
            if held == new:
                continue  # already in the table as written
            added.append(part)
            removed += sorted(p for p, s in held.items() if new.get(p) != s)
        if not added:
            return 0
        self.fmt.commit(table, added, removed, summary)
        self.commits += 1
        for path in removed:
            live.pop(path, None)
        live.update((f.path, f.size) for part in added for f in part.files)
        return len(added)

    def live(self, table: str) -> dict[str, int]:
        """The table's files, read from its metadata once, then kept up to date; a TableDamage
        naming the file when the metadata cannot be read."""
        if table not in self._live:
            try:
                self._live[table] = self.fmt.files(table)
            except ConfigError:
                raise
            except Exception as exc:  # pyiceberg and delta-rs raise their own types
                raise table_damage(self._loc, self.fmt.name, table, exc) from exc
        return self._live[table]

    def _holds(self, table: str, rel_dir: str) -> bool:
        return any(p.startswith(f"{rel_dir}/") for p in self.live(table))

    def drop(self, tables: list[str]) -> None:
        """Forget the tables before `--overwrite` replaces the lake they were made of."""
        self.fmt.drop(tables)
        self._live.clear()

    def start_afresh(self, tables: list[str]) -> None:
        """Drop the tables and their metadata folders before an `--overwrite` of the same world
        rewrites the data files in place: a snapshot is a list of file paths, so the old ones
        would read the new bytes as theirs (and a same-size file would look unchanged). The
        tables start again from the files the run leaves."""
        self.drop(tables)
        for table in tables:
            remove_tree(self._loc, metadata_folder(self.fmt.name, table))


def commit_failure(fmt: str, exc: Exception) -> str:
    """`<format> commit failed: <why>`: every catalog and store raises its own types, and the
    partitions stay committed in the lake, so a re-run adds what the table missed."""
    return f"{fmt} commit failed: {one_line(exc)}"
