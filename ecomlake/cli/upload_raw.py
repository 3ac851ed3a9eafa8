"""`ecomlake upload-raw`: push committed local partitions to a GCS or S3 bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecomlake.cli.flags import flag
from ecomlake.cli.options import (
    DatesOpt,
    EndOpt,
    LogFormat,
    LogFormatOpt,
    LogLevel,
    LogLevelOpt,
    StartOpt,
    StorageOpt,
    add_examples,
    parse_date,
    parse_dates,
    parse_storage_options,
)
from ecomlake.cli.output import configure_logging
from ecomlake.errors import EXIT_CHECKS_FAILED, ConfigError, OptionError
from ecomlake.run.window import DayChoice
from ecomlake.trio.upload import UploadOptions, target_uri, upload

EXAMPLES = """
Examples:

  ecomlake upload-raw --source output/raw --bucket my-raw-bucket --ingest-date 2024-02-15

  ecomlake upload-raw --source output/raw --bucket s3://my-bucket --prefix ecom/raw \\
      --start-date 2024-01-01 --end-date 2024-01-31 --table orders --table order_items

  ecomlake upload-raw --source output/raw --bucket my-raw-bucket --dates 2024-02-15 --dry-run
"""


def upload_raw(
    bucket: Annotated[str, typer.Option("--bucket", help="Bucket name, or s3://… / gs://….")],
    source: Annotated[str, typer.Option("--source", help="Local lake to upload.")] = "output/raw",
    prefix: Annotated[str, typer.Option("--prefix", help="Key prefix in the bucket.")] = "ecom/raw",
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="s3 or gs (default gs, or the --bucket URI's).")
    ] = None,
    ingest_date: Annotated[str | None, typer.Option("--ingest-date", help="One day.")] = None,
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    days: Annotated[int | None, typer.Option("--days", help="Days from --start-date.")] = None,
    dates: DatesOpt = None,
    table: Annotated[
        list[str] | None, typer.Option("--table", help="Only these tables (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--no-dry-run", help="Print what would be uploaded.")
    ] = False,
    storage_option: StorageOpt = None,
    log_level: LogLevelOpt = LogLevel.info,
    log_format: LogFormatOpt = LogFormat.text,
) -> None:
    """Upload committed partitions (data, manifest, then _SUCCESS) and confirm every object."""
    configure_logging(log_level.value, log_format.value)
    chosen = DayChoice(
        "UploadOptions",
        parse_date(start_date, "--start-date"),
        parse_date(end_date, "--end-date"),
        days,
        parse_dates(dates),
        parse_date(ingest_date, "--ingest-date"),
    ).alone()
    options = UploadOptions(
        source=Path(source),
        target=target_uri(bucket, prefix, scheme),
        dates=chosen,
        tables=tuple(table or ()),
        dry_run=dry_run,
        storage_options=parse_storage_options(storage_option),
    )
    try:
        result = upload(options)
    except OptionError as exc:  # the target is made of --bucket and --prefix here
        if "target" not in exc.fields:
            raise
        name = exc.render(lambda field: "--bucket/--prefix" if field == "target" else flag(field))
        raise ConfigError(name) from None
    verb = "would upload" if dry_run else "uploaded"
    for rel in [*result.partitions, *result.lake_files] if dry_run else ():
        typer.echo(f"[dry-run] {source}/{rel} -> {options.target}/{rel}")
    typer.echo(
        f"{verb} {len(result.partitions)} partition(s), {result.objects} objects, "
        f"{result.bytes:,} bytes to {options.target}"
    )
    for rel in result.skipped:
        typer.echo(f"skipped {rel}: no _SUCCESS (incomplete partition)", err=True)
    if not result.partitions:
        raise typer.Exit(EXIT_CHECKS_FAILED)


add_examples(upload_raw, EXAMPLES)
