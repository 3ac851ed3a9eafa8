"""Post-export hooks on an S3 lake: the older tool's hook shape writes through the lake's fs."""

from __future__ import annotations

import datetime as dt

import pytest

from ecomlake import api
from ecomlake.lake.fs import resolve_target
from ecomlake.run.hooks import StorePath

from .lakes import s3_options, tiny_config, world_options

CALLS: list = []


def summary(context) -> None:
    """Writes `partition_dir / "hook_summary.txt"`, as the older tool's sample hook does."""
    CALLS.append(context)
    (context.partition_dir / "hook_summary.txt").write_text(context.manifest.partition)


@pytest.mark.slow  # a run on moto, a hook call per partition
def test_hook_paths_join_with_slash_on_s3(moto_server, make_bucket):
    uri = f"s3://{make_bucket('hooks')}/lake"
    options = s3_options(moto_server)
    day = {"start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 1)}
    hook = f"{__name__}:summary"
    assert api.generate(
        tiny_config(), world_options(uri, storage_options=options, hooks=(hook,), **day)
    ).ok
    loc = resolve_target(uri, options)
    assert CALLS and all(isinstance(c.partition_dir, StorePath) for c in CALLS)
    for context in CALLS:
        assert str(context.manifest_path) == f"{uri}/{context.rel_dir}/_MANIFEST.json"
        assert context.manifest_path.read_text().startswith("{")
        written = loc.fs.cat_file(f"{loc.root}/{context.rel_dir}/hook_summary.txt")
        assert written.decode() == context.partition
