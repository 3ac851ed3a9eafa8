"""The table-format flags: which format, and for Iceberg which catalog and namespace."""

from __future__ import annotations

from dataclasses import dataclass, field

from ecomlake.errors import ConfigError
from ecomlake.lake.layout import validate_segment

FORMATS = ("parquet", "iceberg", "delta")
DEFAULT_NAMESPACE = "ecomlake"


@dataclass(frozen=True)
class TableOptions:
    """`--format` and its catalog flags; `parquet` (the plain Hive layout) needs none."""

    format: str = "parquet"
    catalog_uri: str | None = None
    catalog_options: dict[str, str] = field(default_factory=dict)
    namespace: str = DEFAULT_NAMESPACE

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"--format: must be one of {', '.join(FORMATS)}, got {self.format!r}")
        validate_segment(self.namespace, "--namespace")
        if self.format != "iceberg" and self.catalog_uri:
            raise ConfigError(
                "--catalog-uri: only an Iceberg lake has a catalog (use --format iceberg)"
            )

    @property
    def is_table_format(self) -> bool:
        return self.format != "parquet"


def parse_catalog_options(pairs: list[str] | None) -> dict[str, str]:
    """`key=value` pairs, passed as they are (strings) to the catalog or the Delta store."""
    options: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--catalog-option: expected key=value, got {pair!r}")
        options[key.strip()] = value.strip()
    return options
