"""One world, every target: local disk, S3 (moto) and GCS (emulator) hold the same bytes.

The world is quick.yaml with 200 customers over 2024-01-01..10 (100 for the Ray run; see
`lakes.config_with`): the unchanged quick world costs ~30 s per run on moto. Compared: every data file, manifest, `_SUCCESS` and `_lake.json` (relative path -> sha256); the
run records under `_runs/` hold timings and are left out.
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow.dataset as ds
import pytest

from ecomlake import api
from ecomlake.lake.fs import check_target, resolve_target
from ecomlake.render.registry import TABLE_NAMES

from .lakes import remote_hashes, s3_options, small_config, tiny_config, world_options


@pytest.fixture(scope="module")
def s3_lake(moto_server, make_bucket):
    """The small world written to S3 in-process, credentials and endpoint from the env only."""
    uri = f"s3://{make_bucket('targets')}/lake"
    loc = resolve_target(uri)  # AWS_ACCESS_KEY_ID/SECRET + AWS_ENDPOINT_URL set by moto_server
    check_target(loc)
    result = api.generate(small_config(), world_options(uri))
    assert result.ok, result.failures
    return loc


def test_s3_matches_local(s3_lake, small_local):
    hashes = remote_hashes(s3_lake.fs, s3_lake.root)
    assert len(hashes) > 300
    assert hashes == small_local.hashes


def test_s3_reads_back_with_pyarrow_and_duckdb(s3_lake, small_local):
    import duckdb

    for table in TABLE_NAMES:
        local = small_local.root / table
        if not local.exists():
            continue
        expected = ds.dataset(local, format="parquet").count_rows()
        remote = ds.dataset(f"{s3_lake.root}/{table}", filesystem=s3_lake.fs, format="parquet")
        assert remote.count_rows() == expected, table

    con = duckdb.connect()
    con.register_filesystem(s3_lake.fs)
    for table in ("orders", "order_items"):
        expected = ds.dataset(small_local.root / table, format="parquet").count_rows()
        pattern = f"s3://{s3_lake.root}/{table}/*/*.parquet"
        query = f"SELECT count(*) FROM read_parquet('{pattern}', hive_partitioning = true)"
        assert con.execute(query).fetchone()[0] == expected, table
    con.close()


def test_gs_matches_local(gcs_server, make_gcs_bucket, small_local):
    uri = f"gs://{make_gcs_bucket('targets')}/lake"
    loc = resolve_target(uri)  # STORAGE_EMULATOR_HOST set by gcs_server
    check_target(loc)
    result = api.generate(small_config(), world_options(uri))
    assert result.ok, result.failures
    assert remote_hashes(loc.fs, loc.root) == small_local.hashes


@pytest.mark.ray
def test_s3_on_ray_matches_local_and_commits_success_last(
    ray_session, flaky_proxy, make_bucket, tiny_local
):
    """Ray workers get endpoint and keys as storage options (no env needed); a fault-free proxy
    records the PUTs moto accepted, in order, from every worker."""
    proxy = flaky_proxy()
    bucket = make_bucket("ray")
    uri = f"s3://{bucket}/lake"
    options = s3_options(proxy.endpoint)
    check_target(resolve_target(uri, options))
    result = api.generate(
        tiny_config(), world_options(uri, executor="ray", workers=2, storage_options=options)
    )
    assert result.ok, result.failures
    assert all(r.node_id != "local" for r in result.results)  # the days ran as Ray tasks
    loc = resolve_target(uri, options)
    assert remote_hashes(loc.fs, loc.root) == tiny_local.hashes

    by_partition: dict[str, list[str]] = defaultdict(list)
    for path in proxy.puts_in_order():
        rel = path.removeprefix(f"/{bucket}/lake/")
        if rel.count("/") == 2:  # table/key=value/file
            folder, name = rel.rsplit("/", 1)
            by_partition[folder].append(name)
    assert len(by_partition) == sum(1 for p in tiny_local.hashes if p.endswith("/_SUCCESS"))
    for folder, names in by_partition.items():
        assert names[-1] == "_SUCCESS", (folder, names)
        assert names[-2] == "_MANIFEST.json", (folder, names)
        assert names.count("_SUCCESS") == 1, (folder, names)


def test_verify_reads_an_s3_lake_and_finds_a_corruption(s3_lake, make_bucket, capsys):
    from ecomlake.cli.app import run

    uri = f"s3://{s3_lake.root}"
    assert run(["verify", uri, "--format", "json"]) == 0
    assert '"ok": true' in capsys.readouterr().out

    copy = f"{make_bucket('verify')}/lake"
    s3_lake.fs.copy(s3_lake.root, copy, recursive=True)
    victim = next(p for p in s3_lake.fs.find(f"{copy}/orders") if p.endswith("part-00000.parquet"))
    s3_lake.fs.rm_file(victim)
    assert run(["verify", f"s3://{copy}", "--format", "json"]) == 1
    assert "manifests.file_missing" in capsys.readouterr().out


def test_verify_reads_a_gcs_lake(gcs_server, make_gcs_bucket):
    """A heavy_mess lake on GCS: its level's breaks expected, its defect log undone remotely.
    The lake ends on Jan 10, before the world does: rows due later are missing, and the
    partitions they left are reported as not checkable."""
    uri = f"gs://{make_gcs_bucket('verify')}/lake"
    assert api.generate(tiny_config(), world_options(uri, messiness_level="heavy_mess")).ok
    report = api.verify(uri, against_defects=True)
    assert report.ok, report.to_text()
    assert report.level == "heavy_mess" and report.expected
    assert report.defects.matched > 30 and report.defects.unchecked
