"""`--repair` on the moto S3 server: damage found through `ls(detail=True)` and reads, the lake
restored byte-identical with its lineage unpinned, and verify's command keeps the endpoint."""

from __future__ import annotations

import datetime as dt

import pytest

from ecomlake import api
from ecomlake.cli.app import run
from ecomlake.lake.fs import resolve_target

from .lakes import remote_hashes, s3_options, tiny_config, world_options

DAYS = {"start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 3)}


@pytest.mark.slow  # ~10 s on an idle machine: a run, two full listings and reads on moto
def test_s3_lake_damaged_is_repaired_byte_identical(moto_server, make_bucket, capsys):
    uri = f"s3://{make_bucket('repair')}/lake"
    options = s3_options(moto_server)
    unpinned = world_options(uri, storage_options=options, batch_id=None, ingestion_ts=None, **DAYS)
    assert api.generate(tiny_config(), unpinned).ok
    loc = resolve_target(uri, options)
    before = remote_hashes(loc.fs, loc.root)
    part = f"{loc.root}/shopping_carts/ingest_dt=2024-01-02/part-00000.parquet"
    loc.fs.pipe_file(part, loc.fs.cat_file(part)[:-30])  # truncated
    loc.fs.rm_file(f"{loc.root}/cart_items/ingest_dt=2024-01-03/_MANIFEST.json")
    loc.fs.pipe_file(f"{loc.root}/shopping_carts/ingest_dt=2024-01-03/stray.parquet", b"PAR1")

    flags = [f"--storage-option=endpoint_url={moto_server}", "--storage-option=key=testing",
             "--storage-option=secret=testing"]  # fmt: skip
    assert run(["verify", uri, *flags]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == (
        f"repair: ecomlake generate --target {uri} "
        f"--storage-option endpoint_url={moto_server} --repair"
    )
    result = api.repair(world_options(uri, storage_options=options))
    assert result.ok and len(result.damaged) == 3 and len(result.repaired) == 3
    assert remote_hashes(loc.fs, loc.root) == before
