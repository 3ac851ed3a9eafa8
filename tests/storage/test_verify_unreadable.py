"""`verify`: a lake that cannot be read is one line and exit 2; exit 1 stays "the lake has
problems". Against moto, the GCS emulator and a proxy that breaks reads half-way."""

from __future__ import annotations

import os
import subprocess
import sys

from ecomlake.cli.app import run

from .lakes import KEY, SECRET, s3_client


def _verify(capsys, target: str, *options: str) -> tuple[int, list[str]]:
    code = run(["verify", target, "--log-level", "error", *options])
    return code, capsys.readouterr().err.strip().splitlines()


def test_missing_bucket_is_one_line_and_exit_2_from_the_real_cli(moto_server):
    target = "s3://no-such-bucket/lake"
    done = subprocess.run(
        [sys.executable, "-m", "ecomlake", "verify", target],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: --target: bucket 'no-such-bucket' does not exist ({target})"
    ]


def test_missing_gcs_bucket_or_empty_prefix_is_exit_2(capsys, gcs_server, make_gcs_bucket):
    code, err = _verify(capsys, "gs://no-such-bucket/lake")
    assert code == 2 and len(err) == 1, err
    bucket = make_gcs_bucket("empty")
    code, err = _verify(capsys, f"gs://{bucket}/lake")
    assert (code, err) == (2, [f"error: target: no lake at gs://{bucket}/lake (none of its table "
                               "folders exist)"])  # fmt: skip


def test_reads_failing_half_way_are_exit_2_not_problems(
    capsys, monkeypatch, moto_server, make_bucket, flaky_proxy
):
    """The listing works, every manifest read gets 503 until the retries run out: the lake was
    not judged, so exit 2 with one line naming the file, not exit 1 with a 'problem'."""
    monkeypatch.setenv("ECOMLAKE_UPLOAD_RETRIES", "2")
    monkeypatch.setenv("ECOMLAKE_UPLOAD_BACKOFF_BASE", "0")
    bucket = make_bucket("half-way")
    client = s3_client(moto_server)
    partition = "lake/customers/signup_dt=2024-01-01"
    client.put_object(Bucket=bucket, Key=f"{partition}/_MANIFEST.json", Body=b"{}")
    client.put_object(Bucket=bucket, Key=f"{partition}/_SUCCESS", Body=b"")
    proxy = flaky_proxy(fail_paths=("_MANIFEST.json",), methods=("GET",))
    options = ["--storage-option", f"endpoint_url={proxy.endpoint}",
               "--storage-option", f"key={KEY}", "--storage-option", f"secret={SECRET}"]  # fmt: skip
    code, err = _verify(capsys, f"s3://{bucket}/lake", *options)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: verify: cannot read s3://{bucket}/lake: ")
    assert f"{partition}/_MANIFEST.json: read failed after 2 attempts" in err[0]
    assert proxy.injected["503"] == 2
