"""Each bad option, one rule, two names: the library's field (or plain argument) and the CLI's
flag. Nothing is written either way."""

from __future__ import annotations

from pathlib import Path

import pytest

import ecomlake
from ecomlake.cli.app import run
from ecomlake.cli.flags import cli_message
from ecomlake.errors import OptionError
from ecomlake.lake import resolve_target
from ecomlake.run.driver import GenerateOptions
from ecomlake.run.submit import client
from ecomlake.tables import TableOptions
from ecomlake.trio.upload import UploadOptions, plan_upload, target_uri
from ecomlake.verify.on_ray import map_batches

QUICK_CONFIG = Path(__file__).resolve().parents[2] / "gen_config" / "quick.yaml"

FTP = "ftp://host/lake"
SCHEME = "unsupported scheme 'ftp'"


def _cli(capsys, *args: str) -> str:
    """The one error line of a CLI run that must refuse its input."""
    code = run(list(args))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0 and err.startswith("error: "), err
    return err.removeprefix("error: ")


def _library(call) -> str:
    with pytest.raises(OptionError) as caught:
        call()
    return str(caught.value)


GENERATE = [  # (GenerateOptions keywords, CLI flags (None: the CLI's parser refuses first), ...)
    ({"target": FTP}, ["--target", FTP], "target", "--target", SCHEME),
    ({"compression": "lzo"}, ["--compression", "lzo"], "compression", "--compression", "must be"),
    ({"target_size_mb": 0}, None, "target_size_mb", "--target-size-mb", "must be > 0"),
    ({"ray_address": "nohost"}, ["--ray-address", "nohost"], "ray_address", "--ray-address", ""),
    (
        {"target": "s3://bucket/lake", "storage_options": {"bogus": "1"}},
        ["--target", "s3://bucket/lake", "--storage-option", "bogus=1"],
        "storage_options",
        "--storage-option",
        "unknown option 'bogus'",
    ),
]


@pytest.mark.parametrize(("options", "flags", "field", "flag", "rule"), GENERATE)
def test_generate_names_the_field_and_the_cli_the_flag(
    capsys, tmp_path, quick_config, options, flags, field, flag, rule
):
    options = {"target": str(tmp_path / "lake"), "executor": "ray", **options}
    message = _library(lambda: ecomlake.generate(quick_config, GenerateOptions(**options)))
    assert message.startswith(f"GenerateOptions.{field}: {rule}"), message
    assert not (tmp_path / "lake").exists()
    if flags is None:
        return
    cli = ["generate", "--config", str(QUICK_CONFIG), "--target", str(tmp_path / "lake")]
    text = _cli(capsys, *cli, "--executor", "ray", *flags)
    assert text.startswith(f"{flag}: {rule}"), text
    assert text.removeprefix(flag) == message.removeprefix(f"GenerateOptions.{field}")
    assert not (tmp_path / "lake").exists()


def test_table_options_name_their_fields(capsys, tmp_path):
    message = _library(lambda: TableOptions(catalog_uri="sqlite:///c.db"))
    assert message == (
        "TableOptions.catalog_uri: only an Iceberg lake has a catalog "
        "(use TableOptions.format iceberg)"
    )
    cli = ["generate", "--config", str(QUICK_CONFIG), "--target", str(tmp_path / "lake")]
    assert _cli(capsys, *cli, "--catalog-uri", "sqlite:///c.db") == (
        "--catalog-uri: only an Iceberg lake has a catalog (use --format iceberg)"
    )
    assert _library(lambda: TableOptions(format="delta", namespace="sales")) == (
        "TableOptions.namespace: only Iceberg tables are in a namespace "
        "(use TableOptions.format iceberg)"
    )
    assert _cli(capsys, *cli, "--namespace", "sales") == (
        "--namespace: only Iceberg tables are in a namespace (use --format iceberg)"
    )
    assert _cli(capsys, *cli, "--catalog-option", "region=eu") == (  # it was ignored
        "--catalog-option: only Iceberg and Delta tables take it (use --format)"
    )
    assert _library(lambda: TableOptions(format="orc")).startswith("TableOptions.format: must")
    assert _cli(capsys, *cli, "--format", "orc").startswith("--format: must be one of")
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("command", ["verify", "stats"])
@pytest.mark.parametrize(
    ("keywords", "flags", "field", "rule"),
    [
        ({"target": FTP}, [FTP], "target", SCHEME),
        ({"memory_limit": "lots"}, ["--memory-limit", "lots"], "memory_limit", "DuckDB cannot"),
        (  # DuckDB would take it as no limit at all
            {"memory_limit": "-1GB"},
            ["--memory-limit", "-1GB"],
            "memory_limit",
            "must not be negative",
        ),
    ],
)
def test_verify_and_stats_name_their_arguments(
    capsys, tmp_path, command, keywords, flags, field, rule
):
    """A plain argument has no owner: `target`, `memory_limit`."""
    arguments = {"target": str(tmp_path), **keywords}
    message = _library(lambda: getattr(ecomlake, command)(**arguments))
    assert message.startswith(f"{field}: {rule}"), message
    target = [] if field == "target" else [str(tmp_path)]
    assert _cli(capsys, command, *target, *flags).startswith(f"--{field.replace('_', '-')}: {rule}")


def test_verify_names_its_ray_address(capsys, tmp_path):
    message = _library(lambda: ecomlake.verify(str(tmp_path), ray_address="nohost"))
    assert message == "ray_address: expected host:port, ray://host:port or auto, got 'nohost'"
    text = _cli(capsys, "verify", str(tmp_path), "--ray-address", "nohost")
    assert text == "--ray-address: expected host:port, ray://host:port or auto, got 'nohost'"


def test_an_option_error_comes_back_from_a_ray_task_with_its_fields(ray_session):
    with pytest.raises(OptionError) as caught:
        list(map_batches(resolve_target, [(FTP,)]))
    assert (caught.value.owner, caught.value.fields) == ("", ("target", "storage_options"))
    assert str(caught.value).startswith(f"target: {SCHEME}")
    assert cli_message(caught.value).startswith(f"--target: {SCHEME}")
    again = caught.value.owned_by("GenerateOptions", {"target", "storage_options"})
    assert str(again).startswith(f"GenerateOptions.target: {SCHEME}")


def test_a_rule_about_another_owners_field_keeps_its_owner():
    error = OptionError("TableOptions", "{format}: bad", "format")
    assert error.owned_by("GenerateOptions", {"target"}) is error


def test_upload_names_its_options_and_arguments(tmp_path):
    (tmp_path / "orders").mkdir()
    options = UploadOptions(source=tmp_path, target="s3://b/raw", dates=None, tables=("nope",))
    with pytest.raises(OptionError) as caught:
        plan_upload(options)
    assert str(caught.value).startswith("UploadOptions.tables: unknown table 'nope' (one of ")
    assert cli_message(caught.value).startswith("--table: unknown table 'nope' (one of ")
    with pytest.raises(OptionError) as caught:
        target_uri("s3://b", "", "gs")
    assert str(caught.value) == "scheme: gs conflicts with bucket s3://b"
    assert cli_message(caught.value) == "--scheme: gs conflicts with --bucket s3://b"
    with pytest.raises(OptionError) as caught:  # it named --target, which upload-raw has not
        target_uri("b", "../..", "gs")
    assert (
        cli_message(caught.value) == "--prefix: must not contain '.' or '..' segments, got '../..'"
    )


def test_submit_names_the_job_server_address():
    with pytest.raises(OptionError) as caught:
        client("head:8265")
    rule = ": must be the job server URL, e.g. http://head:8265 (got 'head:8265')"
    assert (str(caught.value), cli_message(caught.value)) == ("address" + rule, "--address" + rule)
