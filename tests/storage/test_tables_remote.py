"""Iceberg and Delta lakes on S3 (moto): the same rows as the Parquet lake, and a re-run adds
no commit; an S3 Iceberg lake without a catalog is refused before anything is written."""

from __future__ import annotations

import pytest

from ecomlake.api import generate
from ecomlake.errors import ConfigError
from ecomlake.tables import TableOptions

from .lakes import KEY, SECRET, tiny_config, world_options
from .tables_readers import canonical, catalog, commit_counts, delta_rows, hive_rows, iceberg_rows

CHECKED = ("customers", "shopping_carts", "cart_items")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["iceberg", "delta"])
def test_s3_table_lake_holds_the_parquet_rows(tmp_path, moto_server, make_bucket, fmt):
    store = {"endpoint_url": moto_server, "key": KEY, "secret": SECRET}
    bucket = make_bucket("tables")
    parquet, target = f"s3://{bucket}/parquet", f"s3://{bucket}/{fmt}"
    assert generate(tiny_config(), world_options(parquet, storage_options=store)).ok
    extra = {"catalog_uri": f"sqlite:///{tmp_path}/catalog.db"} if fmt == "iceberg" else {}
    options = world_options(target, storage_options=store, tables=TableOptions(fmt, **extra))
    assert generate(tiny_config(), options).ok
    delta_store = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    cat = catalog(target, store, **extra) if fmt == "iceberg" else None
    for table in CHECKED:
        got = (
            iceberg_rows(cat, table)
            if cat is not None
            else delta_rows(target, table, storage_options=delta_store)
        )
        assert canonical(got) == canonical(hive_rows(parquet, table, store)), table
    counts = commit_counts(fmt, target, cat, storage_options=delta_store)
    assert generate(tiny_config(), options).ok
    assert commit_counts(fmt, target, cat, storage_options=delta_store) == counts


def test_an_s3_iceberg_lake_needs_a_catalog(moto_server, make_bucket):
    bucket = make_bucket("nocatalog")
    store = {"endpoint_url": moto_server, "key": KEY, "secret": SECRET}
    options = world_options(
        f"s3://{bucket}/lake", storage_options=store, tables=TableOptions("iceberg")
    )
    with pytest.raises(ConfigError, match=r"^TableOptions\.catalog_uri: required for an Iceberg"):
        generate(tiny_config(), options)
    from .lakes import s3_client

    assert s3_client(moto_server).list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.slow
def test_gcs_iceberg_lake_holds_the_parquet_rows(tmp_path, make_gcs_bucket):
    bucket = make_gcs_bucket("tables")
    parquet, target = f"gs://{bucket}/parquet", f"gs://{bucket}/iceberg"
    assert generate(tiny_config(), world_options(parquet)).ok
    uri = f"sqlite:///{tmp_path}/catalog.db"
    options = world_options(target, tables=TableOptions("iceberg", catalog_uri=uri))
    assert generate(tiny_config(), options).ok
    cat = catalog(target, catalog_uri=uri)
    for table in CHECKED:
        assert canonical(iceberg_rows(cat, table)) == canonical(hive_rows(parquet, table)), table


@pytest.mark.slow
def test_a_gcs_delta_lake_is_refused_in_one_line_before_writing(make_gcs_bucket):
    """delta-rs speaks GCS's XML API, whose listing the emulator does not serve (501): the
    run stops before writing, with the store's answer on one line (docs/tables.md, limits)."""
    import time

    from ecomlake.lake import resolve_target

    bucket = make_gcs_bucket("delta")
    options = world_options(f"gs://{bucket}/lake", tables=TableOptions("delta"))
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        generate(tiny_config(), options)
    assert time.monotonic() - started < 60  # delta-rs retries, within its limit
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"--format delta: cannot use gs://{bucket}/lake/")
    assert "501 Not Implemented" in message
    assert resolve_target(f"gs://{bucket}", {}).fs.ls(bucket) == []
