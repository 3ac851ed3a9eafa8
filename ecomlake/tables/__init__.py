"""Apache Iceberg and Delta Lake tables over the lake's Hive partitions (`--format`)."""

from __future__ import annotations

import importlib
import threading

from ecomlake.errors import OptionError
from ecomlake.lake import LakeLocation, exists
from ecomlake.tables.catalog import CATALOG_FILE
from ecomlake.tables.committer import TableCommitter, commit_failure
from ecomlake.tables.detect import lake_tables, table_format
from ecomlake.tables.options import FORMATS, OWNER, TableOptions, parse_catalog_options

__all__ = [
    "FORMATS",
    "TableCommitter",
    "TableOptions",
    "commit_failure",
    "open_tables",
    "parse_catalog_options",
]


def open_tables(
    loc: LakeLocation, options: TableOptions, summary: dict[str, str], *, replacing: bool = False
) -> TableCommitter | None:
    """The committer for `options.format` (None for plain Parquet); opening the catalog here
    makes a bad one a one-line error before the run writes anything. Unless the run is
    `replacing` the tables (--overwrite), an Iceberg lake must come with its catalog."""
    if not options.is_table_format:
        return None
    if options.format == "iceberg" and not replacing:
        _check_catalog_at_hand(loc, options)
    module = f"ecomlake.tables.{options.format}"
    try:
        backend = importlib.import_module(module)
    except ImportError as exc:
        rule = (
            f"{{format}} {options.format}: needs the 'tables' extra "
            f"(pip install 'ecomlake[tables]'): {exc}"
        )
        raise OptionError(OWNER, rule, "format") from None
    _warm_up(options.format)
    if options.format == "iceberg":
        return TableCommitter(backend.IcebergFormat(loc, options), loc, summary)
    delta = backend.DeltaFormat(loc, options.catalog_options)
    delta.check_store()
    return TableCommitter(delta, loc, summary)


def _warm_up(fmt: str) -> None:
    """Import the format's library (seconds for pyiceberg's SQL catalog) in the background, so
    it overlaps the plan and Ray's start instead of delaying the first commit."""
    modules = ("pyiceberg.catalog.sql", "pyiceberg.table") if fmt == "iceberg" else ("deltalake",)
    threading.Thread(
        target=lambda: [importlib.import_module(name) for name in modules],
        name="table-imports",
        daemon=True,
    ).start()


def _check_catalog_at_hand(loc: LakeLocation, options: TableOptions) -> None:
    """Refuse a local Iceberg lake whose tables exist but whose catalog is not at hand (no
    `--catalog-uri`, no `catalog.db`): a run would make new tables over the same folders in a
    new `catalog.db`, beside the catalog that holds the old ones."""
    if options.catalog_uri or not loc.is_local or exists(loc, CATALOG_FILE):
        return
    tables = [t for t in lake_tables() if table_format(loc, t) == "iceberg"]
    if tables:
        rule = (
            f"{{catalog_uri}}: {loc.uri} has Iceberg tables ({tables[0]}/metadata/, ...) but no "
            f"{CATALOG_FILE}: give the URI of the catalog that holds them, or, if {CATALOG_FILE} "
            "was deleted, make the tables again with --overwrite"
        )
        raise OptionError(OWNER, rule, "catalog_uri")
