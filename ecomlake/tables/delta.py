"""Delta Lake: one table per lake table at `<target>/<table>/`, files added by log actions."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote

from deltalake import DeltaTable, Schema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import (
    AddAction,
    CommitProperties,
    RemoveAction,
    create_table_with_add_actions,
)

from ecomlake.errors import ConfigError
from ecomlake.lake import LakeLocation, join
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.tables.damage import one_line
from ecomlake.tables.files import TablePartition, table_schema
from ecomlake.tables.store import delta_storage_options


class DeltaFormat:
    """Delta tables beside the Hive partitions they are made of (the log is `_delta_log/`)."""

    name = "delta"

    def __init__(self, loc: LakeLocation, extra_options: dict[str, str]) -> None:
        self._loc = loc
        self._options = {**delta_storage_options(loc), **extra_options}
        self._tables: dict[str, DeltaTable] = {}

    def _uri(self, table: str) -> str:
        return self._loc.display(join(self._loc.root, table))

    def _open(self, table: str) -> DeltaTable | None:
        if table not in self._tables:
            try:
                self._tables[table] = DeltaTable(self._uri(table), storage_options=self._options)
            except TableNotFoundError:
                return None
        return self._tables[table]

    def check_store(self) -> None:
        """Open one table now, so a store delta-rs cannot use is a one-line error before the
        run writes anything (a missing table is fine: the first commit creates it)."""
        table = TABLE_NAMES[0]
        if "%" in self._loc.root:  # delta-rs takes `%20` in a path for an escape, and loses it
            raise ConfigError(
                f"--format delta: {self._uri(table)}: delta-rs cannot use a path with '%' in it "
                "(it reads '%xx' as an escape); choose a folder name without '%'"
            )
        try:
            self._open(table)
        except Exception as exc:  # delta-rs raises OSError and its own types
            raise ConfigError(
                f"--format delta: cannot use {self._uri(table)}: {one_line(exc)}"
            ) from None

    def files(self, table: str) -> dict[str, int]:
        found = self._open(table)
        if found is None:
            return {}
        actions = found.get_add_actions(flatten=True)
        paths = actions.column("path").to_pylist()
        sizes = actions.column("size_bytes").to_pylist()
        # the log holds each path percent-encoded (the Delta protocol): `C%23%20Books` is `C# Books`
        return {f"{table}/{unquote(p)}": int(s) for p, s in zip(paths, sizes, strict=True)}

    def commit(
        self,
        table: str,
        added: list[TablePartition],
        removed: list[str],
        summary: dict[str, str],
    ) -> None:
        key = added[0].key
        now = int(time.time() * 1000)
        adds = [
            AddAction(
                _relative(table, f.path),
                f.size,
                {key: part.value},
                now,
                True,
                json.dumps({"numRecords": f.rows}),
            )
            for part in added
            for f in part.files
        ]
        readded = {f.path for part in added for f in part.files}  # a later add replaces it
        removes = [
            RemoveAction(_relative(table, path), True, now, None, None)
            for path in removed
            if path not in readded
        ]
        props = CommitProperties(custom_metadata={"ecomlake": summary})
        existing = self._open(table)
        if existing is None:
            schema = Schema.from_arrow(table_schema(self._loc, added[0]))
            create_table_with_add_actions(
                self._uri(table),
                schema,
                adds,
                mode="error",
                partition_by=[key],
                storage_options=self._options,
                commit_properties=props,
            )
            return
        schema = existing.schema()
        existing.create_write_transaction(
            [*removes, *adds],
            mode="append",
            schema=schema,
            partition_by=[key],
            commit_properties=props,
        )
        existing.update_incremental()

    def drop(self, tables: list[str]) -> None:
        for table in tables:
            self._tables.pop(table, None)


def _relative(table: str, path: str) -> str:
    """A lake path as the Delta log writes it: relative to the table's folder."""
    return path.removeprefix(f"{table}/")
