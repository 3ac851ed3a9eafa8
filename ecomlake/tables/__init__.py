"""Apache Iceberg and Delta Lake tables over the lake's Hive partitions (`--format`)."""

from __future__ import annotations

from ecomlake.lake import LakeLocation
from ecomlake.tables.committer import TableCommitter
from ecomlake.tables.options import FORMATS, TableOptions, parse_catalog_options

__all__ = ["FORMATS", "TableCommitter", "TableOptions", "open_tables", "parse_catalog_options"]


def open_tables(
    loc: LakeLocation, options: TableOptions, summary: dict[str, str]
) -> TableCommitter | None:
    """The committer for `options.format` (None for plain Parquet); opening the catalog here
    makes a bad one a one-line error before the run writes anything."""
    if not options.is_table_format:
        return None
    if options.format == "iceberg":
        from ecomlake.tables.iceberg import IcebergFormat

        return TableCommitter(IcebergFormat(loc, options), loc, summary)
    from ecomlake.tables.delta import DeltaFormat

    return TableCommitter(DeltaFormat(loc, options.catalog_options), loc, summary)
