"""Run `generate` on a two-node Ray cluster on 127.0.0.1 (ray.cluster_utils), optionally removing
the worker node mid-run; prints a JSON summary. Run in its own process by test_two_nodes.py.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from ray.cluster_utils import Cluster

from ecomlake.api import generate
from ecomlake.config import load_config
from ecomlake.run.driver import GenerateOptions


def main(config: str, target: str, remove_worker: bool) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    removed = threading.Event()

    def remove_when_started() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(list(Path(target).rglob("_SUCCESS"))) >= 60:
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
    print(json.dumps({"ok": result.ok, "nodes": nodes, "removed": removed.is_set(),
                      "failures": [f.error for f in result.failures]}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] == "remove")
