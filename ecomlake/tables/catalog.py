"""Which Iceberg catalog a lake uses: by default a SQLite file beside the data, else the one
`--catalog-uri` names (REST, SQLite, PostgreSQL or AWS Glue) with its `--catalog-option`s."""

from __future__ import annotations

from urllib.parse import quote

from ecomlake.errors import OptionError
from ecomlake.lake import LakeLocation, join
from ecomlake.tables.options import OWNER, TableOptions
from ecomlake.tables.store import iceberg_io_properties

CATALOG_NAME = "ecomlake"
CATALOG_FILE = "catalog.db"
_SQL_SCHEMES = ("sqlite:///", "postgresql://", "postgresql+")


_NEEDS_URI = ("rest", "hive")  # catalog kinds that talk to a server at a URI


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
        kind = options.catalog_options.get("type", "sql")
        if kind in _NEEDS_URI:  # else the lake's SQLite file would be taken for its server
            rule = f"{{catalog_options}}: type={kind} needs {{catalog_uri}}, its server's address"
            raise OptionError(OWNER, rule, "catalog_options", "catalog_uri")
        catalog = {"type": "sql", "uri": default_catalog_uri(loc)}
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


def default_catalog_uri(loc: LakeLocation) -> str:
    """The SQLite URI of the lake's own catalog file, percent-encoded: SQLAlchemy decodes the
    path, so a folder named `a%20b` or `a#b` stays itself."""
    return f"sqlite:///{quote(join(loc.root, CATALOG_FILE))}"


def lake_path(loc: LakeLocation, rel_path: str = "") -> str:
    """A lake path as the Iceberg metadata names it: a plain absolute path on local disk, the
    store's URI elsewhere. pyiceberg reads a `file://` URI with `urlparse` and no decoding, so
    a `#` (or `?`) in a folder or partition value cuts it short and a percent-encoded one is
    not found; a plain path is taken as it is, and other Iceberg readers take it too."""
    full = join(loc.root, rel_path) if rel_path else loc.root.rstrip("/")
    return full if loc.is_local else loc.display(full)


def lake_relative(loc: LakeLocation, path: str) -> str:
    """The lake-relative path of a path in the Iceberg metadata (plain, or the `file://` URI
    older lakes wrote); a path outside the lake comes back as it is."""
    for root in (lake_path(loc), f"file://{loc.root.rstrip('/')}"):
        if path.startswith(f"{root}/"):
            return path[len(root) + 1 :]
    return path


def _warehouse(loc: LakeLocation) -> str:
    return lake_path(loc)
