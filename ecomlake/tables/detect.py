"""Which table format a lake's tables are in, from what the lake holds (no catalog needed), so
`verify` and `--repair` find the tables of a lake whatever flags made it: each table's folder
(`_delta_log/`, Iceberg's `metadata/`), and the default Iceberg catalog (`catalog.db`), which
stays in the lake when every table's metadata folder is gone."""

from __future__ import annotations

from ecomlake.errors import OptionError
from ecomlake.lake import LakeLocation, exists, list_dir
from ecomlake.lake.identity import read_identity
from ecomlake.lake.runs import read_run_records
from ecomlake.messiness.log import defect_log_tables
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.tables.catalog import CATALOG_FILE
from ecomlake.tables.options import OWNER, TableOptions

DELTA_LOG = "_delta_log"
ICEBERG_METADATA = "metadata"


def lake_tables() -> list[str]:
    """Every folder of a lake that can be a table: the data tables and the defect logs."""
    return [*TABLE_NAMES, *defect_log_tables()]


def table_format(loc: LakeLocation, table: str) -> str | None:
    """'delta' or 'iceberg' for a table folder holding that format's log, else None."""
    if exists(loc, f"{table}/{DELTA_LOG}"):
        return "delta"
    if exists(loc, f"{table}/{ICEBERG_METADATA}"):
        return "iceberg"
    return None


def lake_format(loc: LakeLocation) -> str:
    """The format of the lake's first table that has one, else 'iceberg' for a lake holding
    its default catalog, else the one its newest run record names; 'parquet' when none has."""
    for table in lake_tables():
        found = table_format(loc, table)
        if found is not None:
            return found
    if exists(loc, CATALOG_FILE):
        return "iceberg"
    return _recorded_format(loc) or "parquet"


def _recorded_format(loc: LakeLocation) -> str | None:
    """The table format the newest run record of this lake's world names, if any (run records
    of a world an --overwrite replaced do not count)."""
    try:
        lake = read_identity(loc)
    except OptionError:  # a damaged _lake.json: verify and the run report it
        return None
    if lake is None:
        return None
    formats = [r.table_format for r in read_run_records(loc, lake)]
    return next((f for f in reversed(formats) if f in ("iceberg", "delta")), None)


def has_partitions(loc: LakeLocation, table: str) -> bool:
    """Whether the table folder holds a Hive partition (`<key>=<value>`)."""
    return any("=" in name for name in list_dir(loc, table))


def other_format(given: str, found: str) -> OptionError:
    """The one-line refusal of a run whose format is not the one the lake's tables are in."""
    rule = (
        f"{{format}}: {given} given, but the lake's tables are {found}; give {found}, or write "
        f"the {given} tables to a new target"
    )
    return OptionError(OWNER, rule, "format")


def check_format(loc: LakeLocation, options: TableOptions) -> None:
    """Refuse, before anything is written, a run that would add files to a lake whose tables
    are in another format (or, with plain Parquet, leave them out of its tables): its tables
    would then no longer list its files. --overwrite does not lift this, since it replaces
    the data but not another format's logs."""
    found = lake_format(loc)
    if found not in ("parquet", options.format):
        raise other_format(options.format, found)
