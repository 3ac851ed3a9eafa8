"""`stats` of a lake on S3 (moto) is the report of the same lake on local disk."""

from __future__ import annotations

import json

import pytest

from ecomlake.cli.app import run
from ecomlake.stats import stats_lake

from .lakes import s3_options, upload_tree


@pytest.mark.slow
def test_s3_report_equals_local(small_local, make_bucket, moto_server, capsys):
    uri = f"s3://{make_bucket('stats')}/lake"
    options = s3_options(moto_server)
    upload_tree(small_local.root, uri, options)
    local = json.loads(stats_lake(str(small_local.root)).to_json())
    remote = json.loads(stats_lake(uri, storage_options=options).to_json())
    assert remote.pop("lake") == uri and local.pop("lake") == str(small_local.root)
    assert remote == local
    judged = [c for c in local["checks"] if c["ok"] is not None]
    assert judged and all(c["ok"] for c in judged)
    # The lake holds 10 days of its quarter: rows that need the whole window are not judged.
    conversion = next(c for c in local["checks"] if c["knob"] == "parameters.conversion_rate")
    assert conversion["ok"] is None
    endpoint = f"endpoint_url={moto_server}"
    assert run(["stats", uri, "--storage-option", endpoint, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["checks"] == remote["checks"]
    missing = f"s3://{make_bucket('stats')}/nothing"
    assert run(["stats", missing, "--storage-option", endpoint]) == 2
