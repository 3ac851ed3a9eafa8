"""`ecomlake export-raw`: a run-generator dir -> Hive-partitioned Parquet, as generate writes it."""

from __future__ import annotations

from typing import Annotated

import typer

from ecomlake.cli.options import (
    CatalogOpt,
    CatalogUriOpt,
    DatesOpt,
    EndOpt,
    FormatOpt,
    LogFormat,
    LogFormatOpt,
    LogLevel,
    LogLevelOpt,
    NamespaceOpt,
    StartOpt,
    StorageOpt,
    add_examples,
    parse_date,
    parse_dates,
    parse_storage_options,
    table_options,
)
from ecomlake.cli.output import configure_logging
from ecomlake.errors import EXIT_CHECKS_FAILED, ConfigError
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.trio import raw_export

EXAMPLES = """
Examples:

  ecomlake export-raw --source artifacts/raw_run_20240201T000000Z --target output/raw

  ecomlake export-raw --source RUN --start-date 2024-01-01 --end-date 2024-01-31 \\
      --batch-id backlog-2024-01 --target-size-mb 96 --source-prefix gs://bucket/ecom/raw

  ecomlake export-raw --source RUN --dates 2024-01-05,2024-01-09 --table orders \\
      --table order_items --post-export-hook mypkg.qa:check

  ecomlake export-raw --source RUN --format delta --target output/raw-delta
"""


def export_raw(
    source: Annotated[
        str | None,
        typer.Option("--source", help="A run-generator dir (required).", show_default=False),
    ] = None,
    target: Annotated[
        str, typer.Option("--target", help="Lake root: a folder, s3://bucket/prefix or gs://.")
    ] = "output/raw",
    storage_option: StorageOpt = None,
    table_format: FormatOpt = "parquet",
    catalog_uri: CatalogUriOpt = None,
    catalog_option: CatalogOpt = None,
    namespace: NamespaceOpt = "ecomlake",
    ingest_date: Annotated[
        str | None, typer.Option("--ingest-date", help="One event date, YYYY-MM-DD.")
    ] = None,
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Number of days from --start-date.")
    ] = None,
    dates: DatesOpt = None,
    batch_id: Annotated[
        str | None, typer.Option("--batch-id", help="Lineage batch id (default: random).")
    ] = None,
    ingestion_ts: Annotated[
        str | None,
        typer.Option("--ingestion-ts", help="Lineage timestamp, e.g. 2026-01-01T00:00:00+00:00."),
    ] = None,
    target_size_mb: Annotated[
        float, typer.Option("--target-size-mb", help="Split part files above this.")
    ] = raw_export.DEFAULT_TARGET_SIZE_MB,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help=f"Repeatable; one of {', '.join(TABLE_NAMES)}."),
    ] = None,
    source_prefix: Annotated[
        str | None, typer.Option("--source-prefix", help="Adds a source_file lineage column.")
    ] = None,
    lookups_from: Annotated[
        str | None,
        typer.Option(
            "--lookups-from", help="Take customers/product_catalog from this run dir instead."
        ),
    ] = None,
    post_export_hook: Annotated[
        list[str] | None,
        typer.Option("--post-export-hook", help="module:function called per committed partition."),
    ] = None,
    log_level: LogLevelOpt = LogLevel.info,
    log_format: LogFormatOpt = LogFormat.text,
) -> None:
    """Export a raw run's CSVs into lake partitions (exit 1 if nothing was exported, or none of
    the dates asked for has rows in the source).

    Transactional tables go to ingest_dt=<event date>, item tables to their parent's date;
    customers to signup_dt=, product_catalog to category_key=. Without a date option every date
    in the source is exported; the date options cannot be combined with each other.
    """
    configure_logging(log_level.value, log_format.value)
    if source is None:
        raise ConfigError("--source: required (a run-generator dir, e.g. artifacts/raw_run_…)")
    options = raw_export.ExportOptions(
        source=source,
        target=target,
        ingest_date=parse_date(ingest_date, "--ingest-date"),
        start_date=parse_date(start_date, "--start-date"),
        end_date=parse_date(end_date, "--end-date"),
        days=days,
        dates=parse_dates(dates),
        batch_id=batch_id,
        ingestion_ts=ingestion_ts,
        target_size_mb=target_size_mb,
        tables=tuple(table or ()),
        source_prefix=source_prefix,
        lookups_from=lookups_from,
        post_export_hooks=tuple(post_export_hook or ()),
        storage_options=parse_storage_options(storage_option),
        table_format=table_options(table_format, catalog_uri, catalog_option, namespace),
    )
    result = raw_export.export_raw(options)
    _print_summary(result)
    if result.dates and len(result.empty_dates) == len(result.dates):  # a stale run dir, say
        typer.echo("none of the dates asked for has rows in the source", err=True)
        raise typer.Exit(EXIT_CHECKS_FAILED)
    if result.partitions == 0:
        typer.echo("nothing exported", err=True)
        raise typer.Exit(EXIT_CHECKS_FAILED)


def _print_summary(result: raw_export.ExportResult) -> None:
    """Rows and partitions per table, and every row that was not exported, with why."""
    chosen = "all dates in the source" if result.dates is None else f"{len(result.dates)} date(s)"
    typer.echo(f"export {result.batch_id} -> {result.target} ({chosen})")
    for stats in result.tables:
        line = f"  {stats.table}: {stats.rows_written:,} rows in {stats.partitions} partition(s)"
        reasons = [
            (stats.outside_dates, "on other dates"),
            (stats.no_partition_value, "with a null date or category (not exported)"),
            (stats.orphans, "without a parent in the source (not exported)"),
        ]
        line += "".join(f"; {count:,} {why}" for count, why in reasons if count)
        typer.echo(line)
    for name, why in result.skipped.items():
        typer.echo(f"  {name}: skipped ({why})")
    for day in result.empty_dates:
        typer.echo(f"  {day}: no rows in the source")
    if result.defect_log_partitions:
        typer.echo(f"  defect log: {result.defect_log_partitions:,} partition(s)")
    typer.echo(f"partitions written: {result.partitions:,}, rows: {result.rows_written:,}")


add_examples(export_raw, EXAMPLES)
