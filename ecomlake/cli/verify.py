"""`ecomlake verify URI`: re-check a lake's manifests, checksums, row counts and invariants.

Exit 1 means the lake was read and has problems; a lake that cannot be read (endpoint silent,
bucket missing, no credentials, no lake there) is one line and exit 2, like any unusable input.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ecomlake import api
from ecomlake.cli.options import (
    LogFormat,
    LogFormatOpt,
    LogLevel,
    LogLevelOpt,
    StorageOpt,
    add_examples,
    parse_storage_options,
)
from ecomlake.cli.output import configure_logging
from ecomlake.errors import EXIT_CHECKS_FAILED, ConfigError, StorageError
from ecomlake.lake.fs import check_readable, resolve_target
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT

EXAMPLES = """
Examples:

  ecomlake verify output/lake

  ecomlake verify s3://my-bucket/lake --config gen_config/backlog.yaml --format json

  ecomlake verify output/messy-lake --against-defects

  ecomlake verify output/lake --deep

  ecomlake verify s3://my-bucket/lake --ray-address auto --memory-limit 2GB
"""


def verify(
    target: Annotated[str, typer.Argument(help="Lake root: a folder, s3://… or gs://….")],
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="The lake's config (default: its _config.yaml): plans the partitions the lake "
            "must hold and checks config rules (fee rates, agents, window).",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="Report as 'text' or 'json'.")
    ] = "text",
    against_defects: Annotated[
        bool,
        typer.Option(
            "--against-defects",
            help="On a messy lake: undo the defect log and check every partition is clean again.",
        ),
    ] = False,
    memory_limit: Annotated[
        str,
        typer.Option(
            "--memory-limit",
            help="DuckDB's memory for the invariants (512MB, 2GB, ...); past it, it spills to "
            "a temp folder under $TMPDIR that is removed at the end.",
        ),
    ] = DEFAULT_MEMORY_LIMIT,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Check partitions on a local Ray of N CPUs."),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Check partitions on an existing Ray (e.g. auto)."),
    ] = None,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also render every partition again (as --repair would write it, without "
            "writing) and compare its bytes with the lake's: finds a file edited together with "
            "its manifest. Takes as long as generating the lake.",
        ),
    ] = False,
    storage_option: StorageOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
    log_format: LogFormatOpt = LogFormat.text,
) -> None:
    """Check partitions (_SUCCESS, manifest, files, rows, sha256), invariants and the plan.

    A messy lake may break only the checks its level is expected to break.

    References to rows the plan dates outside the lake's days are counted, not failed.
    """
    configure_logging(log_level.value, log_format.value)
    if output_format not in ("text", "json"):
        raise ConfigError(f"--format: must be 'text' or 'json', got {output_format!r}")
    options = parse_storage_options(storage_option)
    check_readable(resolve_target(target, options))
    try:
        report = api.verify(
            target,
            config,
            options,
            against_defects,
            memory_limit=memory_limit,
            workers=workers,
            ray_address=ray_address,
            deep=deep,
        )
    except StorageError as exc:  # the store failed mid-way (after retries): nothing to judge
        raise ConfigError(f"verify: cannot read {target}: {exc}") from None
    typer.echo(report.to_json() if output_format == "json" else report.to_text())
    if not report.ok:
        raise typer.Exit(EXIT_CHECKS_FAILED)


add_examples(verify, EXAMPLES)
