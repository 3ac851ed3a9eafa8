"""Unusable targets fail before anything is written: one line on stderr, exit code 2.

Each case is checked twice: `check_target` on its own, and the whole `ecomlake generate` command
(which calls it before the run writes its first object).
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from ecomlake.cli.app import run
from ecomlake.cli.flags import cli_message
from ecomlake.errors import OptionError
from ecomlake.lake.fs import check_target, resolve_target

from .lakes import KEY, SECRET, s3_client, s3_options, world_args


def _objects(endpoint: str, bucket: str) -> list[str]:
    return [
        o["Key"] for o in s3_client(endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])
    ]


def _fails(capsys, target: str, *extra: str) -> str:
    """Run the command; assert exit code 2 and a single stderr line; return that line.

    At the default level `info` the CLI would also show botocore's INFO lines (e.g. "Found
    endpoint for s3 via: environment_global"), which are not ours to assert on."""
    code = run(world_args(target, "--log-level", "warning", *extra))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0, err
    assert err.startswith("error: ")
    return err.removeprefix("error: ")


def _preflight(target: str, options: dict | None = None) -> str:
    """The refusal as the CLI shows it."""
    with pytest.raises(OptionError) as info:
        check_target(resolve_target(target, options))
    return cli_message(info.value)


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    """No key in the env, no profile, no config or credentials file, no instance role."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def no_gcs_credentials(monkeypatch, tmp_path):
    """No emulator, no key file, no gcloud login, no token cache, no metadata server probe."""
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # off GCP the metadata probe alone takes ~16 s


def test_unknown_scheme(capsys):
    message = "--target: unsupported scheme 'ftp' (use a local path, s3:// or gs://)"
    assert _fails(capsys, "ftp://host/lake") == message
    with pytest.raises(OptionError, match=r"^target: unsupported scheme 'ftp'"):  # an argument
        resolve_target("ftp://host/lake")


@pytest.mark.parametrize(
    ("suffix", "rule"),
    [
        ("a/../lake", "must not contain '.' or '..' segments"),
        ("../lake", "must not contain '.' or '..' segments"),
        ("./lake", "must not contain '.' or '..' segments"),
        ("/lake", "has an empty path segment"),
        ("a//lake", "has an empty path segment"),
    ],
)
def test_unsafe_prefix(capsys, moto_server, make_bucket, suffix, rule):
    bucket = make_bucket("prefix")
    target = f"s3://{bucket}/{suffix}"
    assert _fails(capsys, target) == f"--target: {target!r} {rule}" + (
        " ('//')" if "empty" in rule else ""
    )
    assert _objects(moto_server, bucket) == []


def test_trailing_slash_is_fine(moto_server, make_bucket):
    bucket = make_bucket("slash")
    loc = resolve_target(f"s3://{bucket}/lake/")
    assert loc.root == f"{bucket}/lake"
    check_target(loc)
    assert _objects(moto_server, bucket) == []  # the probe object is gone again


def test_missing_s3_bucket(capsys, moto_server):
    target = "s3://no-such-bucket/lake"
    expected = "--target: bucket 'no-such-bucket' does not exist (s3://no-such-bucket/lake)"
    assert _preflight(target) == expected
    assert _fails(capsys, target) == expected
    names = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert "no-such-bucket" not in names


def test_missing_gs_bucket(capsys, gcs_server):
    target = "gs://no-such-bucket/lake"
    expected = "--target: bucket 'no-such-bucket' does not exist (gs://no-such-bucket/lake)"
    assert _preflight(target) == expected
    assert _fails(capsys, target) == expected


def test_missing_s3_credentials(capsys, moto_server, make_bucket, no_aws_credentials):
    bucket = make_bucket("nocreds")
    target = f"s3://{bucket}/lake"
    expected = (
        f"--target: no credentials for {target} (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
        "or AWS_PROFILE, or pass --storage-option key=... --storage-option secret=...)"
    )
    assert _preflight(target) == expected
    assert _fails(capsys, target) == expected
    assert _objects(moto_server, bucket) == []
    # the same target works once the keys come as storage options
    check_target(resolve_target(target, {"key": KEY, "secret": SECRET}))


def test_missing_gs_credentials(capsys, no_gcs_credentials):
    target = "gs://some-bucket/lake"
    message = _preflight(target)
    assert message.startswith(f"--target: no credentials for {target} (set ")
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message
    assert _fails(capsys, target) == message


@pytest.mark.parametrize(
    ("fault", "message", "code"),
    [
        ("403", "--target: not allowed to write in {uri} (", "AccessDenied"),
        ("403-key", "--target: invalid credentials for {uri} (", "InvalidAccessKeyId"),
    ],
)
def test_refused_probe(flaky_proxy, moto_server, make_bucket, fault, message, code):
    """moto checks no permissions; the proxy answers the probe PUT as IAM would."""
    proxy = flaky_proxy(fail_paths=("/_runs/.write-probe-",), fail_with=fault)
    bucket = make_bucket("denied")
    uri = f"s3://{bucket}/lake"
    text = _preflight(uri, s3_options(proxy.endpoint))
    assert text.startswith(message.format(uri=uri)) and code in text, text
    assert proxy.injected == {fault: 1}  # terminal: not retried
    assert _objects(moto_server, bucket) == []


def test_local_target_that_is_a_file(capsys, tmp_path):
    blocker = tmp_path / "lake"
    blocker.write_text("not a folder")
    assert _fails(capsys, str(blocker)) == f"--target: {blocker} exists and is not a folder"
    nested = blocker / "inside"
    assert _preflight(str(nested)) == f"--target: cannot create {nested}: {blocker} is not a folder"
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_local_target_on_a_filesystem_without_storage(capsys):
    """/proc takes no files, yet a root user may write there and its free space is 0."""
    rule = "--target: cannot write /proc/lake: /proc is on a filesystem with no storage"
    assert _fails(capsys, "/proc/lake") == rule


def test_local_target_may_not_exist_yet(tmp_path):
    target = tmp_path / "new" / "lake"
    check_target(resolve_target(str(target)))
    assert not target.exists()  # the preflight creates nothing; the run will


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ECOMLAKE_UPLOAD_RETRIES", "0"),
        ("ECOMLAKE_UPLOAD_RETRIES", "many"),
        ("ECOMLAKE_UPLOAD_BACKOFF_BASE", "-1"),
        ("ECOMLAKE_UPLOAD_BACKOFF_BASE", "soon"),
    ],
)
def test_bad_retry_settings(capsys, monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(name, value)
    assert _fails(capsys, str(tmp_path / "lake")).startswith(f"{name}: must be ")
    assert not (tmp_path / "lake").exists()


def test_misspelt_storage_option(capsys, moto_server, make_bucket):
    bucket = make_bucket("option")
    message = _fails(capsys, f"s3://{bucket}/lake", "--storage-option", "endpoint=http://x")
    assert message.startswith("--storage-option: unknown option 'endpoint' for s3:// (known: ")
    assert _objects(moto_server, bucket) == []
