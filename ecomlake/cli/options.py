"""Shared option types and parsers for every command."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer

from ecomlake.config.bounds import EPOCH, iso_date, shift_date
from ecomlake.errors import ConfigError
from ecomlake.tables.options import TableOptions, parse_catalog_options


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Root seed (default: the YAML faker_seed).")
]
MessinessOpt = Annotated[
    str,
    typer.Option(
        "--messiness-level", help="none/baseline (clean), light_mess, medium_mess or heavy_mess."
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="YAML config (see gen_config/).", show_default=False),
]
LogLevelOpt = Annotated[
    LogLevel, typer.Option("--log-level", case_sensitive=False, help="Logging threshold.")
]
LogFormatOpt = Annotated[
    LogFormat,
    typer.Option("--log-format", case_sensitive=False, help="Log lines as text or JSON."),
]
StartOpt = Annotated[str | None, typer.Option("--start-date", help="First day, YYYY-MM-DD.")]
EndOpt = Annotated[str | None, typer.Option("--end-date", help="Last day, YYYY-MM-DD.")]
DaysOpt = Annotated[
    int | None,
    typer.Option("--days", help="Number of days: from --start-date, else ending at the world end."),
]
DatesOpt = Annotated[
    str | None,
    typer.Option(
        "--dates", help="Comma-separated days: 2024-01-01,2024-01-05, or today / yesterday (UTC)."
    ),
]
PlanCacheOpt = Annotated[
    bool,
    typer.Option(
        "--plan-cache/--no-plan-cache",
        help="Reuse the world plan stored by an earlier run of the same config, seed and window "
        "(folder: $ECOMLAKE_PLAN_CACHE, else ~/.cache/ecomlake/plans). Never changes the data.",
    ),
]
DaysAgoOpt = Annotated[
    int | None,
    typer.Option("--days-ago", min=0, help="The one day N days before today (UTC); 1 = yesterday."),
]


RELATIVE_DAYS = {"today": 0, "yesterday": 1}


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def parse_date(text: str | None, flag: str) -> dt.date | None:
    """A YYYY-MM-DD date (or today / yesterday, UTC), or a one-line error naming the flag; read
    as the YAML's dates are (bounds.iso_date), so 20240105 is refused everywhere."""
    if text is None:
        return None
    if text.strip().lower() in RELATIVE_DAYS:
        return day_before_today(RELATIVE_DAYS[text.strip().lower()], flag)
    date = iso_date(text)
    if date is None:
        raise ConfigError(f"{flag}: invalid date {text!r} (use YYYY-MM-DD)")
    return date


def day_before_today(days: int, flag: str) -> dt.date:
    """The UTC date `days` days before today; a one-line error naming `flag` before 1970."""
    day = shift_date(utc_today(), -days)
    if day is None:
        rule = f"{days} days before today is before {EPOCH}, the earliest date supported"
        raise ConfigError(f"{flag}: {rule}")
    return day


def parse_dates(text: str | None, flag: str = "--dates") -> tuple[dt.date, ...]:
    """Comma-separated dates; an empty list is an error, not every day."""
    if text is None:
        return ()
    parts = [p for p in (x.strip() for x in text.split(",")) if p]
    if not parts:
        raise ConfigError(f"{flag}: give at least one date")
    return tuple(parse_date(p, flag) for p in parts)


StorageOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--storage-option",
        help="key=value passed to the s3fs/gcsfs filesystem (repeatable), e.g. endpoint_url=...; "
        "a dotted key sets a dict entry: config_kwargs.read_timeout=10",
    ),
]


def parse_storage_options(pairs: list[str] | None) -> dict[str, object]:
    """`key=value` pairs; true/false, integers and decimals are typed, the rest stay strings.

    A dotted key sets one entry of a dict option: `config_kwargs.read_timeout=5` gives
    `{"config_kwargs": {"read_timeout": 5}}` (s3fs passes that dict to botocore's Config)."""
    options: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        name, dot, inner = key.strip().partition(".")
        if not sep or not name or (dot and not inner):
            raise ConfigError(f"--storage-option: expected key=value, got {pair!r}")
        if not inner:
            options[name] = _typed(value.strip())
            continue
        nested = options.setdefault(name, {})
        if not isinstance(nested, dict):
            raise ConfigError(f"--storage-option: {name!r} given both as a value and as {key!r}")
        nested[inner] = _typed(value.strip())
    return options


def _typed(text: str) -> object:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return float(text) if "." in text else text
    except ValueError:
        return text


HookOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--post-export-hook",
        help="module:function called for every partition this run commits (repeatable).",
    ),
]


FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="parquet (Hive-partitioned files), iceberg or delta (tables over the same files, "
        "committed as the partitions are written).",
    ),
]
CatalogUriOpt = Annotated[
    str | None,
    typer.Option(
        "--catalog-uri",
        help="Iceberg catalog: http(s):// (REST), sqlite:///, postgresql:// or glue "
        "(default: SQLite at <target>/catalog.db, local targets only).",
    ),
]
CatalogOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--catalog-option",
        help="key=value for the Iceberg catalog, or delta-rs storage option (repeatable).",
    ),
]
NamespaceOpt = Annotated[str, typer.Option("--namespace", help="Iceberg namespace of the tables.")]


def table_options(
    table_format: str, catalog_uri: str | None, catalog_option: list[str] | None, namespace: str
) -> TableOptions:
    """--format, --catalog-uri, --catalog-option and --namespace, as every command takes them."""
    return TableOptions(
        table_format.lower(), catalog_uri, parse_catalog_options(catalog_option), namespace
    )


def add_examples(command: Callable[..., object], examples: str) -> None:
    """Append `examples` to the command's help with every paragraph kept as written (click's
    `\\b` marker): rewrapped to the terminal, a long example split into two command lines."""
    paragraphs = [p.strip("\n") for p in examples.strip("\n").split("\n\n")]
    kept = "\n\n".join(f"\b\n{p}" for p in paragraphs)
    command.__doc__ = inspect.cleandoc(command.__doc__ or "") + "\n\n" + kept  # its own indent
