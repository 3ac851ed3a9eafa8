"""The table-format flags: which format, and for Iceberg which catalog and namespace."""

from __future__ import annotations

from dataclasses import dataclass, field

from ecomlake.errors import OptionError
from ecomlake.lake.layout import segment_problem
from ecomlake.run.fieldcheck import FieldCheck

FORMATS = ("parquet", "iceberg", "delta")
DEFAULT_NAMESPACE = "ecomlake"
OWNER = "TableOptions"  # how errors name its fields (the CLI shows its flags instead)


@dataclass(frozen=True)
class TableOptions:
    """`--format` and its catalog flags; `parquet` (the plain Hive layout) needs none."""

    format: str = "parquet"
    catalog_uri: str | None = None
    catalog_options: dict[str, str] = field(default_factory=dict)
    namespace: str = DEFAULT_NAMESPACE

    def __post_init__(self) -> None:
        check = FieldCheck(OWNER, self)
        check.text("format", "namespace")
        check.text("catalog_uri", optional=True)
        check.mapping("catalog_options")
        if not all(isinstance(value, str) for value in self.catalog_options.values()):
            got = f"{self.catalog_options!r:.60}"
            rule = f"{{catalog_options}}: expected text values (key=value pairs), got {got}"
            raise OptionError(OWNER, rule, "catalog_options")
        if self.format not in FORMATS:
            rule = f"{{format}}: must be one of {', '.join(FORMATS)}, got {self.format!r}"
            raise OptionError(OWNER, rule, "format")
        problem = segment_problem(self.namespace)
        if problem:
            raise OptionError(OWNER, f"{{namespace}} {self.namespace!r}: {problem}", "namespace")
        if self.format != "iceberg" and self.catalog_uri:
            rule = "{catalog_uri}: only an Iceberg lake has a catalog (use {format} iceberg)"
            raise OptionError(OWNER, rule, "catalog_uri", "format")
        if not self.is_table_format and self.catalog_options:
            rule = "{catalog_options}: only Iceberg and Delta tables take it (use {format})"
            raise OptionError(OWNER, rule, "catalog_options", "format")
        if self.format != "iceberg" and self.namespace != DEFAULT_NAMESPACE:
            rule = "{namespace}: only Iceberg tables are in a namespace (use {format} iceberg)"
            raise OptionError(OWNER, rule, "namespace", "format")

    @property
    def is_table_format(self) -> bool:
        return self.format != "parquet"


def parse_catalog_options(pairs: list[str] | None) -> dict[str, str]:
    """`key=value` pairs, passed as they are (strings) to the catalog or the Delta store."""
    options: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            rule = f"{{catalog_options}}: expected key=value, got {pair!r}"
            raise OptionError(OWNER, rule, "catalog_options")
        options[key.strip()] = value.strip()
    return options
