"""A flaky S3 endpoint: transient faults are retried to identical bytes; persistent ones fail the day
(and only that day), and a re-run through a healthy endpoint completes the lake."""

from __future__ import annotations

import logging

import pytest

from ecomlake import api
from ecomlake.errors import StorageError
from ecomlake.lake.fs import resolve_target

from .lakes import remote_hashes, s3_options, tiny_config, world_options

SECRET = "s3cr3t-that-must-never-be-logged"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setenv("ECOMLAKE_UPLOAD_BACKOFF_BASE", "0.001")


def test_one_put_in_five_fails_yet_the_lake_is_identical(
    flaky_proxy, make_bucket, tiny_local, caplog, moto_server
):
    proxy = flaky_proxy(every=5, modes=("500", "reset", "503"))
    bucket = make_bucket("flaky")
    uri = f"s3://{bucket}/lake"
    options = s3_options(proxy.endpoint, key="AKIAFLAKY", secret=SECRET)
    with caplog.at_level(logging.WARNING, logger="ecomlake.lake.retry"):
        result = api.generate(tiny_config(), world_options(uri, storage_options=options))
    assert result.ok, result.failures

    injected = sum(proxy.injected.values())
    assert proxy.injected["500"] > 10 and proxy.injected["reset"] > 10
    assert proxy.injected["503"] > 10
    assert injected * 5 == pytest.approx(proxy.puts, abs=5)  # ~20% of all PUTs
    retries = [r for r in caplog.records if r.name == "ecomlake.lake.retry"]
    assert len(retries) == injected  # one retry per fault, each the next attempt succeeded
    message = retries[0].getMessage()
    assert message.startswith(f"write s3://{bucket}/lake/") and "attempt 1 of 5 failed" in message
    kinds = " ".join(r.getMessage() for r in retries)
    assert "SlowDown" in kinds and "InternalError" in kinds
    assert SECRET not in caplog.text

    loc = resolve_target(uri, s3_options(moto_server))
    assert remote_hashes(loc.fs, loc.root) == tiny_local.hashes


def test_a_partition_that_cannot_be_written_fails_its_day_and_a_rerun_completes(
    flaky_proxy, make_bucket, tiny_local, moto_server, monkeypatch
):
    monkeypatch.setenv("ECOMLAKE_UPLOAD_RETRIES", "1")
    day = sorted(p.name for p in (tiny_local.root / "shopping_carts").iterdir())[1]
    broken = f"shopping_carts/{day}/"
    proxy = flaky_proxy(fail_paths=(broken,))
    uri = f"s3://{make_bucket('broken')}/lake"

    failed = api.generate(
        tiny_config(), world_options(uri, storage_options=s3_options(proxy.endpoint))
    )
    assert not failed.ok
    assert [f.day for f in failed.failures] == [day.split("=", 1)[1]]
    assert broken in failed.failures[0].error and "SlowDown" in failed.failures[0].error
    assert proxy.injected == {"503": 1}  # ECOMLAKE_UPLOAD_RETRIES=1: one attempt, no retry
    assert len(failed.results) == 9

    healthy = s3_options(moto_server)
    loc = resolve_target(uri, healthy)
    assert not loc.fs.exists(f"{loc.root}/{broken}_SUCCESS")
    rerun = api.generate(tiny_config(), world_options(uri, storage_options=healthy))
    assert rerun.ok, rerun.failures
    assert remote_hashes(loc.fs, loc.root) == tiny_local.hashes


def test_overwrite_retries_flaky_deletes_and_clears_the_old_lake(
    flaky_proxy, make_bucket, tiny_local, moto_server, caplog
):
    """--overwrite empties each table folder with bulk deletes (POST ?delete); every second one
    fails with SlowDown, is retried, and the new lake is exactly the reference."""
    uri = f"s3://{make_bucket('overwrite')}/lake"
    old = world_options(uri, storage_options=s3_options(moto_server), seed=7)
    assert api.generate(tiny_config(), old).ok
    proxy = flaky_proxy(every=2, modes=("503",), methods=("POST", "DELETE"))
    new = world_options(uri, storage_options=s3_options(proxy.endpoint), overwrite=True)
    with caplog.at_level(logging.WARNING, logger="ecomlake.lake.retry"):
        assert api.generate(tiny_config(), new).ok
    assert proxy.injected["503"] >= 3
    assert f"remove s3://{uri[5:]}/" in caplog.text
    loc = resolve_target(uri, s3_options(moto_server))
    assert remote_hashes(loc.fs, loc.root) == tiny_local.hashes


def test_overwrite_that_cannot_delete_is_one_line_naming_the_folder(
    flaky_proxy, make_bucket, moto_server, tiny_local, monkeypatch
):
    monkeypatch.setenv("ECOMLAKE_UPLOAD_RETRIES", "1")
    uri = f"s3://{make_bucket('nodelete')}/lake"
    old = world_options(uri, storage_options=s3_options(moto_server), seed=7)
    assert api.generate(tiny_config(), old).ok
    proxy = flaky_proxy(fail_paths=("/",), methods=("POST",))  # bulk deletes, not the probe's
    new = world_options(uri, storage_options=s3_options(proxy.endpoint), overwrite=True)
    with pytest.raises(StorageError) as caught:
        api.generate(tiny_config(), new)
    message = str(caught.value)
    assert (
        message.startswith(f"{uri}/customers: remove failed after 1 attempt")
        and "\n" not in message
    )
    healed = world_options(uri, storage_options=s3_options(moto_server), overwrite=True)
    assert api.generate(tiny_config(), healed).ok  # the same command, storage healthy again
    loc = resolve_target(uri, s3_options(moto_server))
    assert remote_hashes(loc.fs, loc.root) == tiny_local.hashes
