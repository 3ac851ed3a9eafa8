"""Verify on S3 (moto) and GCS (emulator) gives the report verify gives on local disk.

The same damaged lake is checked in both places: a copy of the small world is damaged on local
disk and uploaded file by file, so any difference is the reading, not the data.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecomlake import api

from .lakes import s3_options, upload_tree


def _damage(root: Path) -> None:
    """Manifest breaks, a missing file and a missing signup day (orphaned customer ids)."""
    for table in ("shopping_carts", "cart_items"):
        first = sorted((root / table).iterdir())[0]
        (first / "_SUCCESS").unlink()
    manifest = sorted((root / "shopping_carts").iterdir())[-1] / "_MANIFEST.json"
    data = json.loads(manifest.read_text())
    data["files"][0]["rows"] += 1
    data["total_rows"] += 1
    manifest.write_text(json.dumps(data))
    (sorted((root / "orders").iterdir())[0] / "part-00000.parquet").unlink()
    shutil.rmtree(root / "customers" / "signup_dt=2024-01-05")


def _truncate(root: Path) -> None:
    path = sorted((root / "cart_items").glob("*/part-00000.parquet"))[2]
    path.write_bytes(path.read_bytes()[:200])


def _report(target: str, root_text: str, options: dict | None = None) -> dict:
    """The JSON report, timing and target dropped, the lake's root spelt `<root>`; the repair
    command keeps only its `--target` (a remote one also names its endpoint)."""
    text = api.verify(target, storage_options=options).to_json().replace(root_text, "<root>")
    body = json.loads(text)
    for key in ("seconds", "target"):
        body.pop(key)
    if body["repair_command"]:
        words = body["repair_command"].split()
        body["repair_command"] = [
            w for w in words if "endpoint_url=" not in w and w != "--storage-option"
        ]
    return body


@pytest.mark.slow
def test_s3_report_equals_local_on_a_damaged_lake(small_local, make_bucket, moto_server, tmp_path):
    lake = Path(shutil.copytree(small_local.root, tmp_path / "lake"))
    _damage(lake)
    uri = f"s3://{make_bucket('verify-remote')}/lake"
    options = s3_options(moto_server)
    upload_tree(lake, uri, options)
    local = _report(str(lake), str(lake))
    assert local["ok"] is False
    checks = {v["check"] for v in local["violations"]}
    assert {"manifests.success_missing", "manifests.row_count", "manifests.file_missing"} <= checks
    assert "fk.shopping_carts.customer_id" in checks
    assert _report(uri, uri, options) == local


@pytest.mark.slow
def test_gcs_report_equals_local_with_an_unreadable_file(small_local, make_gcs_bucket, tmp_path):
    """A truncated file stops the invariants; the remote report names the lake's file, not the
    copy verify read it from."""
    lake = Path(shutil.copytree(small_local.root, tmp_path / "lake"))
    _truncate(lake)
    uri = f"gs://{make_gcs_bucket('verify-remote')}/lake"
    upload_tree(lake, uri)
    local = _report(str(lake), str(lake))
    (not_run,) = [v for v in local["violations"] if v["check"] == "invariants.not_run"]
    assert "<root>/cart_items/" in not_run["detail"]
    assert _report(uri, uri) == local
