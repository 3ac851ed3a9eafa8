"""`ecomlake submit`: run an ecomlake command as a Ray job on a cluster's job server."""

from __future__ import annotations

from typing import Annotated

import typer

from ecomlake.cli.options import LogFormat, LogFormatOpt, LogLevel, LogLevelOpt, add_examples
from ecomlake.cli.output import configure_logging
from ecomlake.errors import ConfigError
from ecomlake.run import submit as jobs

EXAMPLES = """
Examples:

  ecomlake submit --address http://head:8265 -- \\
      generate -c gen_config/backlog.yaml --target s3://bucket/lake --ray-address auto

  ecomlake submit --address http://head:8265 --no-wait -- generate -c gen_config/quick.yaml ...

  ecomlake submit --address http://head:8265 --status raysubmit_abc123
"""


def submit(
    ctx: typer.Context,
    address: Annotated[
        str, typer.Option("--address", help="Ray job server, e.g. http://head:8265.")
    ],
    working_dir: Annotated[
        str, typer.Option("--working-dir", help="Project folder shipped with the job.")
    ] = ".",
    pip: Annotated[
        list[str] | None, typer.Option("--pip", help="Extra pip package for the job (repeatable).")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="KEY=VALUE for the job (repeatable).")
    ] = None,
    python: Annotated[
        str, typer.Option("--python", help="Interpreter on the cluster that runs ecomlake.")
    ] = "python",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Stream logs until done.")] = True,
    status: Annotated[
        str | None, typer.Option("--status", help="Print a job's status and exit.")
    ] = None,
    logs: Annotated[str | None, typer.Option("--logs", help="Print a job's logs and exit.")] = None,
    log_level: LogLevelOpt = LogLevel.info,
    log_format: LogFormatOpt = LogFormat.text,
) -> None:
    """Submit `ecomlake <command…>` (after `--`) as a Ray job; exit with the job's status."""
    configure_logging(log_level.value, log_format.value)
    asked = [("--status", status), ("--logs", logs), ("a command after --", ctx.args)]
    given = [what for what, value in asked if value]
    if len(given) > 1:  # one of them would be ignored silently
        raise ConfigError(f"{given[0]}: cannot be combined with {given[1]}")
    if status:
        state = jobs.status(address, status)
        typer.echo(state)
        raise typer.Exit(0 if state in ("SUCCEEDED", "RUNNING", "PENDING") else 3)
    if logs:
        typer.echo(jobs.logs(address, logs), nl=False)
        raise typer.Exit(0)
    options = jobs.SubmitOptions(
        address=address,
        working_dir=working_dir,
        pip=tuple(pip or ()),
        env=_pairs(env or []),
        python=python,
    )
    job_id = jobs.submit(options, list(ctx.args))
    typer.echo(job_id)
    if wait:
        try:
            code = jobs.follow(address, job_id, lambda text: typer.echo(text, nl=False))
        except KeyboardInterrupt:  # only the following stops: the job is the cluster's
            typer.echo(
                f"interrupted: job {job_id} keeps running; follow it with --status {job_id} or "
                f"--logs {job_id}, stop it with: ray job stop --address {address} {job_id}",
                err=True,
            )
            raise typer.Exit(130) from None
        raise typer.Exit(code)


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env: expected KEY=VALUE, got {item!r}")
        out[key] = value
    return out


add_examples(submit, EXAMPLES)
