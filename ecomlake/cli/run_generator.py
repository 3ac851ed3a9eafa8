"""`ecomlake run-generator`: config + days -> a raw run dir of CSVs, load_data.sql and _run.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecomlake.cli.options import (
    EndOpt,
    LogFormat,
    LogFormatOpt,
    LogLevel,
    LogLevelOpt,
    PlanCacheOpt,
    StartOpt,
    add_examples,
    parse_date,
)
from ecomlake.cli.output import configure_logging
from ecomlake.config import load_config
from ecomlake.errors import ConfigError
from ecomlake.run.interrupt import sigterm_as_interrupt
from ecomlake.trio import raw_run

EXAMPLES = """
Examples:

  ecomlake run-generator --config gen_config/quick.yaml

  ecomlake run-generator -c gen_config/quick.yaml --artifact-root artifacts \\
      --start-date 2024-01-01 --end-date 2024-01-31

  ecomlake run-generator -c gen_config/quick.yaml --generate-lookups-only
"""

RequiredConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="YAML config (required).", show_default=False),
]


def run_generator(
    config: RequiredConfigOpt = None,
    artifact_root: Annotated[
        str, typer.Option("--artifact-root", help="Folder that receives raw_run_<UTC>/.")
    ] = "artifacts",
    messiness_level: Annotated[
        str,
        typer.Option(
            "--messiness-level",
            help="baseline, none (clean), light_mess, medium_mess or heavy_mess (any case).",
        ),
    ] = "baseline",
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Root seed (default: the YAML faker_seed).")
    ] = None,
    load_lookups_from: Annotated[
        str | None,
        typer.Option(
            "--load-lookups-from",
            help="A run dir holding customers.csv/product_catalog.csv of the same config, seed "
            "and world; checked, then re-derived (identical) rather than read.",
        ),
    ] = None,
    id_state_file: Annotated[
        str | None,
        typer.Option(
            "--id-state-file",
            help="Accepted for old scripts; a no-op (IDs are deterministic). Never written.",
        ),
    ] = None,
    generate_lookups_only: Annotated[
        bool,
        typer.Option(
            "--generate-lookups-only", help="Write only customers.csv and product_catalog.csv."
        ),
    ] = False,
    generator_src: Annotated[
        str | None,
        typer.Option("--generator-src", help="Accepted and ignored: the engine is built in."),
    ] = None,
    plan_cache: PlanCacheOpt = True,
    log_level: LogLevelOpt = LogLevel.info,
    log_format: LogFormatOpt = LogFormat.text,
) -> None:
    """Render days through the engine into CSVs (the older tool's raw run); rows = generate's."""
    configure_logging(log_level.value, log_format.value)
    if config is None:
        raise ConfigError("--config: required, e.g. --config gen_config/quick.yaml")
    if config.strip() and not Path(config).is_file():
        raise ConfigError(f"--config: file not found: {config}")
    options = raw_run.RawRunOptions(
        artifact_root=artifact_root,
        messiness_level=messiness_level,
        start_date=parse_date(start_date, "--start-date"),
        end_date=parse_date(end_date, "--end-date"),
        seed=seed,
        load_lookups_from=load_lookups_from,
        id_state_file=id_state_file,
        generate_lookups_only=generate_lookups_only,
        generator_src=generator_src,
        config_path=config,
        plan_cache=plan_cache,
    )
    with sigterm_as_interrupt():  # a stopped run removes its partly written dir
        result = raw_run.run_generator(load_config(config), options)
    days = result.days
    typer.echo(f"raw run: {result.run_dir}")
    typer.echo(
        f"world {result.world_start}..{result.world_end}; days {days[0]}..{days[-1]} "
        f"({len(days)}); seed {result.seed}"
    )
    for table, rows in result.rows.items():
        typer.echo(f"  {table}.csv: {rows:,} rows")
    typer.echo(f"load into SQLite: sqlite3 run.db < {result.run_dir / raw_run.SQL_FILE}")


add_examples(run_generator, EXAMPLES)
