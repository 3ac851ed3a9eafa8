"""Run `generate` on a two-node Ray cluster on 127.0.0.1 (ray.cluster_utils), optionally removing
the worker node mid-run; prints a JSON summary. Run in its own process by test_two_nodes.py.

Usage: two_node_run.py CONFIG TARGET keep|remove START END   (TARGET: a folder, or "s3")
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from ray.cluster_utils import Cluster

from ecomlake.api import generate
from ecomlake.config import load_config
from ecomlake.run.driver import GenerateOptions


def _moto_bucket() -> tuple[str, dict, object]:
    """A moto S3 server on 127.0.0.1 and a bucket: the shared target of both nodes."""
    import boto3
    from moto.server import ThreadedMotoServer

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the moto tweak
    from server_tweaks import list_service_folders_once

    list_service_folders_once()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    boto3.client(
        "s3", endpoint_url=options["endpoint_url"], aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    ).create_bucket(Bucket="cluster")  # fmt: skip
    return "s3://cluster/lake", options, server


def _s3_digest(options: dict) -> dict[str, str]:
    import hashlib

    from ecomlake.lake.fs import resolve_target

    loc = resolve_target("s3://cluster/lake", options)
    loc.fs.invalidate_cache()
    return {
        path[len(loc.root) + 1 :]: hashlib.sha256(loc.fs.cat_file(path)).hexdigest()
        for path in sorted(loc.fs.find(loc.root))
        if not path[len(loc.root) + 1 :].startswith("_runs/")
    }


REMOVE_AFTER_COMMITS = 30  # partitions committed before the worker node is removed


def main(config: str, target: str, remove_worker: bool, start: date, end: date) -> None:
    options: dict = {}
    server = None
    if target.startswith("s3"):
        target, options, server = _moto_bucket()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    removed = threading.Event()

    def _committed() -> int:
        if not options:
            return len(list(Path(target).rglob("_SUCCESS")))
        return _s3_committed()

    def _s3_committed() -> int:
        from ecomlake.lake.fs import resolve_target

        loc = resolve_target(target, options)
        loc.fs.invalidate_cache()
        return sum(1 for p in loc.fs.find(loc.root) if p.endswith("_SUCCESS"))

    def remove_when_started() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if _committed() >= REMOVE_AFTER_COMMITS:
                cluster.remove_node(worker)
                removed.set()
                return
            time.sleep(0.05)

    if remove_worker:
        threading.Thread(target=remove_when_started, daemon=True).start()
    try:
        result = generate(
            load_config(config),
            GenerateOptions(
                target=target,
                start_date=start,
                end_date=end,
                storage_options=options,
                ray_address=cluster.address,
                shared_target=True,  # both nodes live on this machine and see the same disk
                batch_id="cluster",
                ingestion_ts="2024-04-01T00:00:00+00:00",
            ),
        )
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
    nodes = sorted({r.node_id for r in result.results})
    digest = _s3_digest(options) if options else None
    if server is not None:
        server.stop()
    print(json.dumps({"ok": result.ok, "nodes": nodes, "removed": removed.is_set(),
                      "failures": [f.error for f in result.failures], "s3": digest}))  # fmt: skip


if __name__ == "__main__":
    first, last = date.fromisoformat(sys.argv[4]), date.fromisoformat(sys.argv[5])
    main(sys.argv[1], sys.argv[2], sys.argv[3] == "remove", first, last)
