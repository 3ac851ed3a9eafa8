"""`ecomlake generate`: config + days -> lake, on local Ray by default."""

from __future__ import annotations

from typing import Annotated

import typer

from ecomlake import api
from ecomlake.cli.flags import flag
from ecomlake.cli.options import (
    CatalogOpt,
    CatalogUriOpt,
    ConfigOpt,
    DatesOpt,
    DaysAgoOpt,
    DaysOpt,
    EndOpt,
    FormatOpt,
    HookOpt,
    LogFormat,
    LogFormatOpt,
    LogLevel,
    LogLevelOpt,
    MessinessOpt,
    NamespaceOpt,
    PlanCacheOpt,
    SeedOpt,
    StartOpt,
    StorageOpt,
    add_examples,
    day_before_today,
    parse_date,
    parse_dates,
    parse_storage_options,
    table_options,
)
from ecomlake.cli.output import DayProgress, configure_logging, print_summary
from ecomlake.config import load_config
from ecomlake.errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, ConfigError, OptionError
from ecomlake.run.driver import GenerateOptions
from ecomlake.run.executors import RunProgress
from ecomlake.run.interrupt import StopRequest

EXAMPLES = """
Examples:

  ecomlake generate --config gen_config/quick.yaml

  ecomlake generate -c gen_config/backlog.yaml --target output/backlog --workers 2

  ecomlake generate -c gen_config/daily.yaml --dates yesterday --target s3://bucket/lake

  ecomlake generate -c gen_config/quick.yaml --dates 2024-02-01,2024-02-02 \\
      --batch-id demo --ingestion-ts 2024-03-01T00:00:00+00:00

  ecomlake generate -c gen_config/quick.yaml --format iceberg --target output/iceberg

  ecomlake generate --target output/lake --repair
"""


def generate(
    ctx: typer.Context,
    config: ConfigOpt = None,
    target: Annotated[
        str,
        typer.Option("--target", "-t", help="Lake root: a folder, s3://bucket/prefix or gs://."),
    ] = "output/lake",
    storage_option: StorageOpt = None,
    table_format: FormatOpt = "parquet",
    catalog_uri: CatalogUriOpt = None,
    catalog_option: CatalogOpt = None,
    namespace: NamespaceOpt = "ecomlake",
    post_export_hook: HookOpt = None,
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    days: DaysOpt = None,
    dates: DatesOpt = None,
    days_ago: DaysAgoOpt = None,
    seed: SeedOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="Parallel days (default: cores).")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Existing Ray cluster (e.g. auto).")
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="'auto' (in-process when the run is one day, or a small world's few seconds "
            "of work that a local Ray would not pay for; else Ray), 'ray' or 'in-process' "
            "(no Ray, one core).",
        ),
    ] = "auto",
    batch_id: Annotated[
        str | None, typer.Option("--batch-id", help="Lineage batch id (default: random).")
    ] = None,
    ingestion_ts: Annotated[
        str | None,
        typer.Option("--ingestion-ts", help="Lineage timestamp, e.g. 2026-01-01T00:00:00+00:00."),
    ] = None,
    target_size_mb: Annotated[
        float, typer.Option("--target-size-mb", min=0.001, help="Split part files above this.")
    ] = 128.0,
    compression: Annotated[
        str, typer.Option("--compression", help="zstd, snappy, gzip, brotli, lz4 or none.")
    ] = "zstd",
    messiness_level: MessinessOpt = "none",
    source_prefix: Annotated[
        str | None, typer.Option("--source-prefix", help="Adds a source_file lineage column.")
    ] = None,
    shared_target: Annotated[
        bool,
        typer.Option("--shared-target", help="The local --target is shared by every Ray node."),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace a lake made with another config/seed/window; rewrite committed days.",
        ),
    ] = False,
    lock_expiry_hours: Annotated[
        float | None,
        typer.Option(
            "--lock-expiry-hours",
            help="Take over the lake's lock, whichever host holds it, once it is older than "
            "this (a scheduled run whose last run crashed on a host that is gone); default: "
            "only a lock whose process is known to be gone, on this host.",
        ),
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Check every committed partition fully and re-render the damaged ones "
            "byte-identically; without --config, with the config the lake stores.",
        ),
    ] = False,
    plan_cache: PlanCacheOpt = True,
    block_customers: Annotated[
        int | None,
        typer.Option(
            "--block-customers",
            help="Plan the world in blocks of this many customers, as parallel tasks (default: "
            "blocks of 1,000,000 above 4,000,000 customers; 0: in one piece). Same data.",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    log_level: LogLevelOpt = LogLevel.info,
    log_format: LogFormatOpt = LogFormat.text,
) -> None:
    """Generate the lake: plan the world once, render each day as a task, commit partitions."""
    configure_logging(log_level.value, log_format.value)
    options = GenerateOptions(
        target=target,
        start_date=parse_date(start_date, "--start-date"),
        end_date=parse_date(end_date, "--end-date"),
        days=days,
        dates=_chosen_dates(dates, days_ago),
        seed=seed,
        workers=workers,
        ray_address=ray_address,
        executor=executor,
        batch_id=batch_id,
        ingestion_ts=ingestion_ts,
        target_size_mb=target_size_mb,
        compression=compression,
        messiness_level=messiness_level.lower(),
        source_prefix=source_prefix,
        storage_options=parse_storage_options(storage_option),
        overwrite=overwrite,
        lock_expiry_hours=lock_expiry_hours,
        shared_target=shared_target,
        hooks=tuple(post_export_hook or ()),
        plan_cache=plan_cache,
        block_customers=block_customers,
        repair=repair,
        tables=table_options(table_format, catalog_uri, catalog_option, namespace),
    )
    if repair:
        _refuse_ignored_by_repair(ctx)
        _repair(options, config)
        return
    if config is None:
        raise ConfigError("--config: required (only --repair can use the lake's own config)")
    cfg = load_config(config)
    try:
        with StopRequest().signals() as stop, DayProgress(enabled=progress) as bar:
            progress = RunProgress(planned=bar.planned, day_done=bar.advance)
            result = api.generate(cfg, options, progress, stop)
    except OptionError as exc:  # the day of --days-ago travels as `dates`: name the flag given
        if days_ago is None:
            raise
        raise ConfigError(exc.render(lambda f: "--days-ago" if f == "dates" else flag(f))) from None
    print_summary(result)
    if result.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if not result.ok:
        raise typer.Exit(EXIT_RUN_FAILED)


# The flags of what --repair takes from the lake itself (run records, manifests, _lake.json).
_LAKE_OWN = (
    "start_date",
    "end_date",
    "days",
    "dates",
    "days_ago",
    "batch_id",
    "ingestion_ts",
    "target_size_mb",
    "compression",
    "messiness_level",
    "source_prefix",
    "post_export_hook",
    "block_customers",
)


def _refuse_ignored_by_repair(ctx: typer.Context) -> None:
    """A flag --repair would ignore is an error, not a surprise (`--repair --dates X` repairs
    every day of the lake, not X), whatever its value: the lake's runs may differ in it."""
    given = [p for p in ctx.command.params if p.name in _LAKE_OWN and _given(ctx, p.name)]
    if given:
        raise ConfigError(
            f"{given[0].opts[0]}: cannot be combined with --repair, which checks every day of "
            "the lake and writes with the lake's own lineage and writer options"
        )


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user set the parameter (on the command line or through its env var)."""
    source = ctx.get_parameter_source(name)  # typer may bring its own click: compare by name
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _repair(options: GenerateOptions, config: str | None) -> None:
    """`--repair`: one summary line; exit 3 when a damaged partition is still damaged."""
    result = api.repair(options, load_config(config) if config is not None else None)
    typer.echo(result.summary())
    if not result.ok:
        raise typer.Exit(EXIT_RUN_FAILED)


def _chosen_dates(dates: str | None, days_ago: int | None) -> tuple:
    """--dates, or the single day of --days-ago; both at once is a conflict."""
    if days_ago is None:
        return parse_dates(dates)
    if dates is not None:
        raise ConfigError("--days-ago: cannot be combined with --dates")
    return (day_before_today(days_ago, "--days-ago"),)


add_examples(generate, EXAMPLES)
