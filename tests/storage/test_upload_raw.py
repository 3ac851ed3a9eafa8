"""upload-raw: every committed object lands with `_SUCCESS` last; dry runs touch nothing."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from ecomlake.api import generate, verify
from ecomlake.cli.app import run
from ecomlake.lake.fs import resolve_target
from ecomlake.lake.lock import LakeLock

from .lakes import local_hashes, remote_hashes, s3_options, tiny_config, world_options


def _upload(source, bucket: str, *extra: str) -> int:
    return run(["upload-raw", "--source", str(source), "--bucket", bucket, "--prefix", "ecom/raw",
                "--log-level", "warning", *extra])  # fmt: skip


def test_upload_to_s3_lands_every_object_success_last(tiny_local, flaky_proxy, make_bucket, capsys):
    proxy = flaky_proxy()
    bucket = make_bucket("upload")
    options = s3_options(proxy.endpoint)
    flags = [f"--storage-option={k}={v}" for k, v in options.items()]
    assert _upload(tiny_local.root, f"s3://{bucket}", *flags) == 0
    assert "uploaded" in capsys.readouterr().out
    loc = resolve_target(f"s3://{bucket}/ecom/raw", options)
    assert remote_hashes(loc.fs, loc.root) == tiny_local.hashes  # _lake.json, _config.yaml too
    assert {"_lake.json", "_config.yaml"} <= set(tiny_local.hashes)
    by_partition: dict[str, list[str]] = defaultdict(list)
    for path in proxy.puts_in_order():
        rel = path.removeprefix(f"/{bucket}/ecom/raw/")
        if rel.count("/") == 2:
            folder, name = rel.rsplit("/", 1)
            by_partition[folder].append(name)
    assert by_partition and all(names[-1] == "_SUCCESS" for names in by_partition.values())


def test_upload_one_day_to_gcs(tiny_local, gcs_server, make_gcs_bucket, capsys):
    bucket = make_gcs_bucket("upload")
    assert _upload(tiny_local.root, f"gs://{bucket}", "--ingest-date", "2024-01-03") == 0
    loc = resolve_target(f"gs://{bucket}/ecom/raw")
    (record,) = [json.loads(p.read_text()) for p in (tiny_local.root / "_runs").iterdir()]
    (day,) = [d for d in record["days"] if d["day"] == "2024-01-03"]
    expected = {  # the day's partitions and those its run committed (earlier signups), and the
        k: v  # lake's own files
        for k, v in tiny_local.hashes.items()
        if "=2024-01-03/" in k or k.rpartition("/")[0] in day["committed"] or "/" not in k
    }
    assert any(k.startswith("customers/signup_dt=2023-") for k in expected)
    assert any("ingest_dt=2024-01-03/" in k for k in expected)
    assert remote_hashes(loc.fs, loc.root) == expected


def test_dry_run_uploads_nothing(tiny_local, make_bucket, capsys):
    bucket = make_bucket("dry")
    assert _upload(tiny_local.root, f"s3://{bucket}", "--dates", "2024-01-02", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "[dry-run]" in out and "would upload" in out
    assert "_lake.json ->" in out and "_runs/" in out
    loc = resolve_target(f"s3://{bucket}")
    assert loc.fs.find(loc.root) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--table", "nope"], "--table: unknown table 'nope'"),
        (["--scheme", "ftp"], "--scheme: the scheme must be s3 or gs"),
        (["--prefix", "a\nb"], "--prefix: must not contain control characters, got 'a\\nb'"),
        (["--dates", "2024-01-02", "--ingest-date", "2024-01-03"], "--dates: cannot be combined"),
    ],
)
def test_bad_input(tiny_local, make_bucket, capsys, extra, message):
    bucket = make_bucket("bad")
    assert _upload(tiny_local.root, bucket, *extra) == 2
    assert message in capsys.readouterr().err


def test_a_damaged_partition_is_not_published(tiny_local, make_bucket, tmp_path, capsys):
    """A committed partition whose file is missing, cut or flipped used to land with its
    `_SUCCESS`: a remote partition that says it is whole and is not."""
    source = Path(shutil.copytree(tiny_local.root, tmp_path / "lake"))
    part = next(source.glob("shopping_carts/ingest_dt=*/part-00000.parquet"))
    whole = part.read_bytes()
    bucket = make_bucket("damaged")
    loc = resolve_target(f"s3://{bucket}")
    part.write_bytes(whole[:100])
    assert _upload(source, f"s3://{bucket}") == 2
    err = capsys.readouterr().err
    assert f"is 100 bytes, the manifest says {len(whole)}" in err and "nothing was uploaded" in err
    part.unlink()
    assert _upload(source, f"s3://{bucket}") == 2
    assert "part-00000.parquet is missing" in capsys.readouterr().err
    assert loc.fs.find(loc.root) == []
    part.write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))  # same size, other bytes
    assert _upload(source, f"s3://{bucket}", "--table", "shopping_carts") != 0
    assert "differ from its manifest's checksum" in capsys.readouterr().err
    rel = part.parent.relative_to(source).as_posix()
    landed = {p.rsplit("/", 1)[1] for p in loc.fs.find(f"{loc.root}/ecom/raw/{rel}")}
    assert "_SUCCESS" not in landed


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_lake_a_run_is_writing_is_not_uploaded(tiny_local, make_bucket, capsys, dry_run):
    """Its partitions would land without the run record that lists them (written at its end)."""
    bucket = make_bucket("busy")
    extra = ["--dry-run"] if dry_run else []
    with LakeLock(resolve_target(str(tiny_local.root)), "busy"):
        assert _upload(tiny_local.root, f"s3://{bucket}", *extra) == 2
    err = capsys.readouterr().err
    assert "--source: a run is writing this lake (batch busy, pid " in err
    assert "nothing was uploaded: upload when it is done" in err
    loc = resolve_target(f"s3://{bucket}")
    assert loc.fs.find(loc.root) == []


def test_a_target_error_names_the_flags_that_make_the_target(tiny_local, make_bucket, capsys):
    """upload-raw has no --target: its errors named one."""
    assert _upload(tiny_local.root, "file:///x") == 2
    assert "error: --bucket: the scheme must be s3 or gs, got 'file'" in capsys.readouterr().err
    bucket = make_bucket("names")
    code = run(["upload-raw", "--source", str(tiny_local.root), "--bucket", f"s3://{bucket}",
                "--prefix", "a//b", "--log-level", "warning"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "error: --bucket/--prefix: " in err, err


def test_a_messy_lake_lands_with_its_log_and_verifies_in_the_bucket(
    tmp_path, make_bucket, moto_server
):
    """The bucket's copy used to lack the defect log, `_lake.json`, `_config.yaml` and the run
    records: it failed verify (lake.identity_missing) and had no answer key."""
    source = tmp_path / "lake"
    options = world_options(str(source), messiness_level="heavy_mess")
    assert generate(tiny_config(), options).ok
    bucket = make_bucket("messy")
    flags = [f"--storage-option={k}={v}" for k, v in s3_options(moto_server).items()]
    assert _upload(source, f"s3://{bucket}", *flags) == 0
    target = f"s3://{bucket}/ecom/raw"
    loc = resolve_target(target, s3_options(moto_server))
    assert remote_hashes(loc.fs, loc.root) == local_hashes(source)
    assert any(k.startswith("_defects/ingest_dt=") for k in local_hashes(source))
    assert loc.fs.find(f"{loc.root}/_runs")  # the records went too
    report = verify(target, storage_options=s3_options(moto_server), against_defects=True)
    assert report.ok, report.to_text()


def test_one_table_takes_its_defect_log_along(tmp_path, make_bucket, moto_server):
    source = tmp_path / "lake"
    assert generate(tiny_config(), world_options(str(source), messiness_level="light_mess")).ok
    bucket = make_bucket("one")
    flags = [f"--storage-option={k}={v}" for k, v in s3_options(moto_server).items()]
    assert _upload(source, f"s3://{bucket}", "--table", "customers", *flags) == 0
    loc = resolve_target(f"s3://{bucket}/ecom/raw", s3_options(moto_server))
    folders = {k.split("/", 1)[0] for k in remote_hashes(loc.fs, loc.root) if "/" in k}
    assert folders == {"customers", "_defects_customers"}


def test_a_prefix_holding_another_lake_is_refused(tiny_local, tmp_path, make_bucket, capsys):
    bucket = make_bucket("other")
    loc = resolve_target(f"s3://{bucket}/ecom/raw")
    other = dict(json.loads((tiny_local.root / "_lake.json").read_text()), seed=7)
    loc.fs.pipe_file(f"{loc.root}/_lake.json", json.dumps(other).encode())
    assert _upload(tiny_local.root, f"s3://{bucket}") == 2
    err = capsys.readouterr().err
    assert "error: --bucket/--prefix: " in err and "holds another lake (seed 7" in err, err
    assert [p.rsplit("/", 1)[1] for p in loc.fs.find(loc.root)] == ["_lake.json"]


def test_days_uploaded_one_range_at_a_time_make_a_lake_that_verifies(tiny_local, make_bucket):
    """A dated upload used to skip the customers who signed up before the lake's first day
    (and the catalog went with every date): no set of dated uploads gave a bucket that
    verified. A day now takes the partitions its run committed."""
    bucket = make_bucket("days")
    for first, last in (("2024-01-01", "2024-01-04"), ("2024-01-05", "2024-01-10")):
        assert _upload(tiny_local.root, f"s3://{bucket}", "--start-date", first,
                       "--end-date", last) == 0  # fmt: skip
    loc = resolve_target(f"s3://{bucket}/ecom/raw")
    assert remote_hashes(loc.fs, loc.root) == tiny_local.hashes
    assert verify(f"s3://{bucket}/ecom/raw").ok


def test_a_date_the_lake_lacks_uploads_nothing(tiny_local, make_bucket, capsys):
    bucket = make_bucket("none")
    assert _upload(tiny_local.root, f"s3://{bucket}", "--ingest-date", "2025-06-01") == 1
    loc = resolve_target(f"s3://{bucket}")
    assert loc.fs.find(loc.root) == []  # the catalog no longer goes with any date


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_lake_without_identity_cannot_go_where_a_lake_is(
    tiny_local, tmp_path, make_bucket, capsys, dry_run
):
    bucket = make_bucket("noid")
    assert _upload(tiny_local.root, f"s3://{bucket}", "--table", "product_catalog") == 0
    source = Path(shutil.copytree(tiny_local.root, tmp_path / "lake"))
    (source / "_lake.json").unlink()
    extra = ["--dry-run"] if dry_run else []
    assert _upload(source, f"s3://{bucket}", *extra) == 2
    err = capsys.readouterr().err
    assert "holds another lake" in err and "the source has no _lake.json" in err, err


def test_a_prefix_inside_a_lake_is_refused(tiny_local, make_bucket, capsys):
    bucket = make_bucket("inside")
    assert _upload(tiny_local.root, f"s3://{bucket}", "--table", "product_catalog") == 0
    code = run(["upload-raw", "--source", str(tiny_local.root), "--bucket", f"S3://{bucket}",
                "--prefix", "ecom/raw/product_catalog", "--log-level", "warning"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "is inside the lake at" in err and "error: --bucket/--prefix:" in err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lake: (lake / "_lake.json").write_text("{"), "error: --source: "),
        (lambda lake: next((lake / "_runs").iterdir()).write_text("["), "is unreadable"),
        (
            lambda lake: (next(lake.glob("cart_items/ingest_dt=*")) / "notes.txt").write_text("x"),
            "notes.txt is not data: name it with a leading '_'",
        ),
    ],
    ids=["identity", "run-record", "foreign-file"],
)
def test_a_source_verify_would_fail_is_not_uploaded(
    tiny_local, tmp_path, make_bucket, capsys, damage, message
):
    source = Path(shutil.copytree(tiny_local.root, tmp_path / "lake"))
    damage(source)
    bucket = make_bucket("src")
    assert _upload(source, f"s3://{bucket}") == 2
    assert message in capsys.readouterr().err
    loc = resolve_target(f"s3://{bucket}")
    assert loc.fs.find(loc.root) == []
