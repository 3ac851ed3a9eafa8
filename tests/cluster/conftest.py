"""A Ray head with its job server on 127.0.0.1, started by `ray start --block` and stopped by
killing its own process group (never `ray stop`, which would stop every Ray on the machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from short_paths import short_temp_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    """Yields the job server URL of a fresh 2-CPU head node."""
    dashboard = free_port()
    temp = short_temp_dir("rayhead")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [
        "ray", "start", "--head", "--block", f"--port={free_port()}", "--num-cpus=2",
        "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}",
        "--include-dashboard=true", f"--temp-dir={temp}", "--disable-usage-stats",
        # the agent's default port is taken when this process already runs a Ray session
        f"--dashboard-agent-listen-port={free_port()}",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/version", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("ray start --head exited early")
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the Ray job server did not come up")
    yield url
    # `ray start --block` takes ~30 s to wind down on SIGTERM; the head holds nothing worth a
    # clean shutdown, so after a short grace its whole group is killed
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    shutil.rmtree(temp, ignore_errors=True)
