"""PartitionSink: the one writer of lake partitions, for `generate`, `--repair`, `export-raw`
and the bench. It decides which partitions stay (committed by the same run identity, or
undamaged in a repair), writes the parts, the manifest and `_SUCCESS` last, and times it all.

A partition without `_SUCCESS` is incomplete. With pinned lineage every byte written depends only
on the data, the options and the run identity.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import pyarrow as pa

from ecomlake.errors import CommitError, EcomlakeError
from ecomlake.lake.check import check_partition, entry_problem
from ecomlake.lake.commit import PartitionWrite, RunIdentity, event_date_range, writer_record
from ecomlake.lake.fs import (
    LakeLocation,
    is_link,
    list_entries,
    remove,
    remove_entry,
    write_bytes,
)
from ecomlake.lake.layout import (
    MANIFEST_NAME,
    SUCCESS_NAME,
    is_temp_file,
    part_file_name,
    partition_dir,
    partition_name,
)
from ecomlake.lake.manifest import SCHEMA_VERSION, ManifestFile, PartitionManifest
from ecomlake.lake.parquet import ParquetOptions, encode_parquet, split_rows
from ecomlake.lineage import Lineage, apply_lineage


class StageClock(Protocol):
    """Times named stages per table (the bench's clock); the sink's stages are `lineage`,
    `encode`, `write` and `commit` (checks, manifest, `_SUCCESS`)."""

    def stage(self, name: str, table: str) -> AbstractContextManager[None]: ...


class _NoClock:
    @contextlib.contextmanager
    def stage(self, name: str, table: str) -> Iterator[None]:
        yield


PartSeen = Callable[[str, pa.Table, bytes], None]  # (lake path, lineage-stamped rows, payload)


class PartitionSink:
    """Commits partitions of one lake for one run identity.

    `skip_committed` keeps a partition already committed by the same identity (resume);
    `repair` (`table/key=value` -> its original write) writes only those partitions, each with
    its own lineage and Parquet options. `dry` encodes everything and touches no storage: the
    manifests it returns say what a write would have put there (`verify --deep` compares
    them with the lake's). `seconds` adds up the time spent in `commit`.
    """

    def __init__(
        self,
        loc: LakeLocation,
        identity: RunIdentity,
        write: PartitionWrite,
        *,
        skip_committed: bool = False,
        repair: Mapping[str, PartitionWrite] | None = None,
        clock: StageClock | None = None,
        on_part: PartSeen | None = None,
        dry: bool = False,
    ) -> None:
        self.loc = loc
        self.dry = dry
        self.identity = identity
        self.default_write = write
        self.skip_committed = skip_committed
        self.repair = repair
        self.clock: StageClock = clock or _NoClock()
        self.on_part = on_part
        self.seconds = 0.0
        self._whole: dict[str, bool] = {}  # a resume's companion checks (a day's log: 6 asks)

    def keeps(self, rel_dir: str, companions: Sequence[str] = ()) -> bool:
        """Whether `rel_dir` stays as it is: in a repair, neither it nor a companion (its defect
        log) is damaged; otherwise, on resume, it is committed by this run identity, and so are
        its companions when its manifest counts defects."""
        if self.repair is not None:
            return not any(rel in self.repair for rel in (rel_dir, *companions))
        if not self.skip_committed:
            return False
        with self.clock.stage("commit", rel_dir.split("/", 1)[0]):
            state = check_partition(self.loc, rel_dir, self.identity)
            if state.problem is not None or state.manifest is None:
                return False
            if not state.manifest.holds_defects:
                return True
            # its defects' log lost (deleted, or a kill between them): both are written again
            return all(self._committed(c) for c in companions)

    def _committed(self, rel_dir: str) -> bool:
        """Whether `rel_dir` is committed by this run identity, asked once per sink."""
        if rel_dir not in self._whole:
            self._whole[rel_dir] = check_partition(self.loc, rel_dir, self.identity).problem is None
        return self._whole[rel_dir]

    def writes(self, rel_dir: str) -> bool:
        """Whether `commit` writes `rel_dir` once rendered (a repair writes only the damaged)."""
        return self.repair is None or rel_dir in self.repair

    def commit(
        self,
        table: str,
        key: str,
        value: str,
        data: pa.Table,
        *,
        pk_columns: Sequence[str],
        event_date_column: str | None,
        messiness: dict | None = None,
        sidecars: Mapping[str, bytes] | None = None,
    ) -> PartitionManifest | None:
        """Write and commit `table/key=value`; None when a repair leaves it alone.

        `sidecars` (file name -> bytes, e.g. a defect log's counts) are written once the
        partition is uncommitted, before its parts. `messiness` goes into the manifest as is.
        Raises ValueError for an empty table (a day with no rows writes no partition) and
        CommitError, naming the partition, when storage fails.
        """
        rel_dir = partition_dir(table, key, value)
        if not self.writes(rel_dir):
            return None
        started = time.perf_counter()
        write = (self.repair or {}).get(rel_dir, self.default_write)
        if data.num_rows == 0:
            raise ValueError(f"{rel_dir}: refusing to write an empty partition")
        missing = [c for c in pk_columns if c not in data.column_names]
        if not pk_columns or missing:
            raise ValueError(
                f"{rel_dir}: primary-key columns {list(pk_columns)} not all in the table"
            )
        with self.clock.stage("commit", table):
            min_dt, max_dt = event_date_range(data, event_date_column)
        try:
            if not self.dry:
                with self.clock.stage("commit", table):
                    self._own_folder(table, rel_dir)
                    # Uncommit first: a crash from here on leaves the partition visibly
                    # incomplete.
                    remove(self.loc, f"{rel_dir}/{SUCCESS_NAME}")
                    for name, body in (sidecars or {}).items():
                        write_bytes(self.loc, f"{rel_dir}/{name}", body)
            files = self._write_parts(rel_dir, table, data, pk_columns, write)
            with self.clock.stage("commit", table):
                if not self.dry:
                    self._remove_stale(rel_dir, {f.path.rsplit("/", 1)[-1] for f in files})
                manifest = PartitionManifest(
                    batch_id=write.lineage.batch_id,
                    created_at=write.lineage.ingestion_ts,  # not the clock: pinned runs repeat
                    files=tuple(files),
                    generator_version=self.identity.generator_version,
                    max_event_dt=max_dt,
                    min_event_dt=min_dt,
                    partition=partition_name(key, value),
                    schema_version=SCHEMA_VERSION,
                    table=table,
                    total_rows=data.num_rows,
                    seed=self.identity.seed,
                    config_fingerprint=self.identity.config_fingerprint,
                    messiness=messiness,
                    writer=writer_record(write.lineage, write.parquet),
                )
                if not self.dry:
                    body = manifest.to_json().encode("utf-8")
                    write_bytes(self.loc, f"{rel_dir}/{MANIFEST_NAME}", body)
                    write_bytes(self.loc, f"{rel_dir}/{SUCCESS_NAME}", b"")
        except EcomlakeError as exc:
            raise CommitError(f"{rel_dir}: commit failed: {exc}") from exc
        finally:
            self.seconds += time.perf_counter() - started
        return manifest

    def _write_parts(
        self,
        rel_dir: str,
        table: str,
        data: pa.Table,
        pk_columns: Sequence[str],
        write: PartitionWrite,
    ) -> list[ManifestFile]:
        """Split, add lineage per file, encode and write every part; their manifest entries."""
        files: list[ManifestFile] = []
        clock, lineage, parquet = self.clock, write.lineage, write.parquet
        for index, (offset, length) in enumerate(split_rows(data, parquet.target_size_mb)):
            rel_path = f"{rel_dir}/{part_file_name(index)}"
            with clock.stage("lineage", table):
                rows = data.slice(offset, length)
                chunk = apply_lineage(rows, table, pk_columns, lineage, rel_path)
            with clock.stage("encode", table):
                payload = encode_parquet(chunk, parquet, pk_columns)
            if not self.dry:
                with clock.stage("write", table):
                    write_bytes(self.loc, rel_path, payload)
            with clock.stage("commit", table):
                digest = hashlib.sha256(payload).hexdigest()
                files.append(ManifestFile(rel_path, length, digest, len(payload)))
            if self.on_part is not None:
                self.on_part(rel_path, chunk, payload)
        return files

    def _own_folder(self, table: str, rel_dir: str) -> None:
        """Never write through a link, which would write outside the lake: a linked table folder
        (the table's other partitions live behind it) is refused, a linked partition folder is
        replaced by a real one (the link goes, not what it points to), and a link, folder or
        special file inside it goes before the writes (it may hold a name they need)."""
        if is_link(self.loc, table):
            raise CommitError(
                f"{table}: is a symbolic link; the lake is written only inside its own folders "
                "(replace the link with a folder, or overwrite the lake)"
            )
        if is_link(self.loc, rel_dir):
            remove(self.loc, rel_dir)
        elif self.loc.is_local:  # a folder, link or FIFO where a file goes would fail the write
            for name, entry in list_entries(self.loc, rel_dir).items():
                if entry.link or entry.kind != "file":
                    remove_entry(self.loc, f"{rel_dir}/{name}", entry)

    def _remove_stale(self, rel_dir: str, written: set[str]) -> None:
        """Drop what this write did not make and a reader would trip on: parts an earlier,
        larger write left behind, stray data files or sub-folders, links, special files and
        orphaned temp files."""
        for name, entry in list_entries(self.loc, rel_dir).items():
            if name in written:
                continue
            if entry_problem(name, entry, listed=False) is None and not is_temp_file(name):
                continue
            remove_entry(self.loc, f"{rel_dir}/{name}", entry)


def write_partition(
    loc: LakeLocation,
    table_name: str,
    partition_key: str,
    partition_value: str,
    data: pa.Table,
    *,
    pk_columns: Sequence[str],
    event_date_column: str | None,
    lineage: Lineage,
    parquet: ParquetOptions,
    identity: RunIdentity,
    messiness: dict | None = None,
) -> PartitionManifest:
    """Write and commit one partition with a one-off sink; the manifest that was written."""
    sink = PartitionSink(loc, identity, PartitionWrite(lineage, parquet))
    manifest = sink.commit(
        table_name,
        partition_key,
        partition_value,
        data,
        pk_columns=pk_columns,
        event_date_column=event_date_column,
        messiness=messiness,
    )
    assert manifest is not None  # no repair: every partition is written
    return manifest
