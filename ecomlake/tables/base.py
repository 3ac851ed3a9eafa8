"""The contract of a table format: list what a table holds, commit a group of partitions."""

from __future__ import annotations

from typing import Protocol

from ecomlake.tables.files import TablePartition


class TableFormat(Protocol):
    """One lake's tables in Iceberg or Delta; data files stay where the workers wrote them."""

    name: str

    def files(self, table: str) -> dict[str, int]:
        """`{path relative to the lake root: size}` of the table's live data files ({} when the
        table does not exist yet)."""
        ...

    def commit(
        self,
        table: str,
        added: list[TablePartition],
        removed: list[str],
        summary: dict[str, str],
    ) -> None:
        """One atomic commit: add the partitions' files and drop the `removed` paths (files that
        a rewritten partition no longer has); creates the table on its first commit."""
        ...

    def drop(self, tables: list[str]) -> None:
        """Forget the tables (--overwrite of another world; their folders are removed anyway)."""
        ...
