"""Which Iceberg catalog a lake uses: by default a SQLite file beside the data, else the one
`--catalog-uri` names (REST, SQLite, PostgreSQL or AWS Glue) with its `--catalog-option`s."""

from __future__ import annotations

from ecomlake.errors import OptionError
from ecomlake.lake import LakeLocation, join
from ecomlake.tables.options import OWNER, TableOptions
from ecomlake.tables.store import iceberg_io_properties

CATALOG_NAME = "ecomlake"
CATALOG_FILE = "catalog.db"
_SQL_SCHEMES = ("sqlite:///", "postgresql://", "postgresql+")


def catalog_properties(loc: LakeLocation, options: TableOptions) -> dict[str, str]:
    """pyiceberg `load_catalog` properties; a one-line ConfigError for a URI it cannot use."""
    uri = options.catalog_uri
    base = {"warehouse": _warehouse(loc), **iceberg_io_properties(loc)}
    if uri is None:
        if not loc.is_local:
            rule = (
                f"{{catalog_uri}}: required for an Iceberg lake on {loc.scheme}:// (the default "
                "SQLite catalog is a local file); give a REST, SQL or glue catalog"
            )
            raise OptionError(OWNER, rule, "catalog_uri")
        catalog = {"type": "sql", "uri": f"sqlite:///{join(loc.root, CATALOG_FILE)}"}
    elif uri.startswith(_SQL_SCHEMES):
        catalog = {"type": "sql", "uri": uri}
    elif uri.startswith(("http://", "https://")):
        catalog = {"type": "rest", "uri": uri}
    elif uri == "glue":
        catalog = {"type": "glue"}
    else:
        rule = (
            f"{{catalog_uri}}: {uri!r} is not a catalog URI (use http(s)://, sqlite:///, "
            "postgresql:// or glue)"
        )
        raise OptionError(OWNER, rule, "catalog_uri")
    return {**base, **catalog, **options.catalog_options}


def _warehouse(loc: LakeLocation) -> str:
    return f"file://{loc.root}" if loc.is_local else loc.display(loc.root)
