"""The `ecomlake` command: registers every subcommand; main() turns known errors into one line
and an exit code (0 ok, 1 checks failed, 2 bad input, 3 run failed, 130 interrupted).
"""

from __future__ import annotations

import sys

import typer

from ecomlake import __version__
from ecomlake.cli.doctor import doctor
from ecomlake.cli.export_raw import export_raw
from ecomlake.cli.flags import cli_message
from ecomlake.cli.generate import generate
from ecomlake.cli.run_generator import run_generator
from ecomlake.cli.stats import stats
from ecomlake.cli.submit import submit
from ecomlake.cli.upload_raw import upload_raw
from ecomlake.cli.verify import verify
from ecomlake.errors import EcomlakeError

app = typer.Typer(
    name="ecomlake",
    help="Deterministic synthetic e-commerce data lakes (Hive-partitioned Parquet) on Ray.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("generate", help=generate.__doc__)(generate)
app.command("verify", help=verify.__doc__)(verify)
app.command("doctor", help=doctor.__doc__)(doctor)
app.command("upload-raw", help=upload_raw.__doc__)(upload_raw)
app.command("run-generator", help=run_generator.__doc__)(run_generator)
app.command("export-raw", help=export_raw.__doc__)(export_raw)
app.command("stats", help=stats.__doc__)(stats)
app.command(
    "submit",
    help=submit.__doc__,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(submit)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _base(name: str) -> type[Exception]:
    """click's exception class `name`, as the installed typer raises it (its own copy of click
    in newer typers)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_USAGE_ERROR = _base("UsageError")
_CLICK_ERROR = _base("ClickException")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (used by tests)."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="ecomlake", standalone_mode=False)
    except EcomlakeError as exc:
        typer.echo(f"error: {cli_message(exc)}", err=True)
        return exc.exit_code
    except _USAGE_ERROR as exc:  # a flag's type or choice, an unknown flag: one line too
        if type(exc).__name__ == "NoArgsIsHelpError":  # `ecomlake` alone: the help
            typer.echo(exc.format_message(), err=True)
        else:
            typer.echo(f"error: {_usage_line(exc)}", err=True)
        return 2
    except _CLICK_ERROR as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code if isinstance(code, int) else 0


def _usage_line(exc: Exception) -> str:
    """`--seed: Input should be a valid integer`: the flag, then what is wrong with it."""
    flags = [o for o in getattr(getattr(exc, "param", None), "opts", ()) if o.startswith("--")]
    if flags and isinstance(exc, typer.BadParameter):
        return f"{flags[0]}: {' '.join(exc.message.split())}"
    return " ".join(exc.format_message().split())


def main() -> None:
    """Entry point of the console script."""
    sys.exit(run())
