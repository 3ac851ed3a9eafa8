"""The command a failed verify prints: target and storage options, never a credential."""

from __future__ import annotations

import shlex

from ecomlake.verify.repair_command import repair_command


def test_repair_command_local_target_is_quoted():
    assert (
        repair_command("output/my lake") == "ecomlake generate --target 'output/my lake' --repair"
    )


def test_repair_command_keeps_options_and_drops_credentials():
    options = {
        "endpoint_url": "http://127.0.0.1:9000",
        "anon": False,
        "key": "AKIAEXAMPLE",
        "secret": "s3cr3t",
        "token": "t0k3n",
        "client_kwargs.aws_session_token": "sess",
        "gcs_token": "/home/me/creds.json",
        "proxy": "http://user:pw@proxy:3128",
    }
    command = repair_command("s3://bucket/lake", options)
    assert shlex.split(command) == [
        "ecomlake", "generate", "--target", "s3://bucket/lake",
        "--storage-option", "anon=false",
        "--storage-option", "endpoint_url=http://127.0.0.1:9000",
        "--repair",
    ]  # fmt: skip
    for secret in ("AKIA", "s3cr3t", "t0k3n", "sess", "creds", "pw"):
        assert secret not in command
