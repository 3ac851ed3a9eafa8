"""`ecomlake stats LAKE`: each knob of the config, what the model expects of it in the lake's
window, and what the lake holds. Exit 1 when a row is not ok, 2 on bad input or an unreadable
lake (one line)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ecomlake.cli.options import StorageOpt, add_examples, parse_storage_options
from ecomlake.config import load_config
from ecomlake.errors import EXIT_CHECKS_FAILED, ConfigError, StorageError
from ecomlake.lake.fs import check_readable, resolve_target
from ecomlake.stats import stats_lake
from ecomlake.stats.replicates import DEFAULT_REPLICATES, check_replicates
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT, check_memory_limit

EXAMPLES = """
Examples:

  ecomlake stats output/lake

  ecomlake stats s3://my-bucket/lake --config gen_config/backlog.yaml --format json

  ecomlake stats output/lake --html stats.html

  ecomlake stats output/lake --replicates 50
"""


def stats(
    target: Annotated[str, typer.Argument(help="Lake root: a folder, s3://… or gs://….")],
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", help="Config to judge the lake by (default: its _config.yaml)."
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="'text' or 'json'.")] = "text",
    html: Annotated[
        str | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
    ] = None,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="DuckDB's memory (512MB, 2GB, ...).")
    ] = DEFAULT_MEMORY_LIMIT,
    replicates: Annotated[
        int,
        typer.Option(
            "--replicates",
            help="Plan worlds of other seeds that give the visit model's rows their expectation"
            " and spread (at least 2; more is steadier and slower).",
        ),
    ] = DEFAULT_REPLICATES,
    storage_option: StorageOpt = None,
) -> None:
    """Configured vs expected vs realized value of every knob family of the config."""
    if output_format not in ("text", "json"):
        raise ConfigError(f"--format: must be 'text' or 'json', got {output_format!r}")
    if html is not None and (not html.strip() or Path(html).is_dir()):
        raise ConfigError(f"--html: {html!r} is not a file name (an empty name or a folder)")
    if html is not None and not Path(html).resolve().parent.is_dir():
        raise ConfigError(f"--html: folder {Path(html).parent} does not exist")
    check_memory_limit(memory_limit)
    check_replicates(replicates)
    options = parse_storage_options(storage_option)
    check_readable(resolve_target(target, options))
    cfg = load_config(config) if config is not None else None
    try:
        report = stats_lake(target, cfg, options, memory_limit=memory_limit, replicates=replicates)
    except StorageError as exc:
        raise ConfigError(f"stats: cannot read {target}: {exc}") from None
    if html is not None:
        from ecomlake.stats.html import render_html

        partial = Path(f"{html}.partial")
        try:
            partial.write_text(render_html(report), encoding="utf-8")
            os.replace(partial, html)  # never a half-written report at PATH
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ConfigError(f"--html: cannot write {html}: {exc.strerror or exc}") from None
    typer.echo(report.to_json() if output_format == "json" else report.to_text())
    if not report.ok:
        raise typer.Exit(EXIT_CHECKS_FAILED)


add_examples(stats, EXAMPLES)
