"""cluster/ manifests parse, carry the keys their tools need, and run real ecomlake commands."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer
import yaml

from ecomlake.cli.app import app
from ecomlake.config import load_config

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"


def _load(name: str) -> dict:
    return yaml.safe_load((CLUSTER / name).read_text())


def _check_entrypoint(entrypoint: str) -> None:
    """`python -m ecomlake <command> <flags>` must parse with our CLI and name real configs."""
    words = shlex.split(entrypoint)
    assert words[:3] == ["python", "-m", "ecomlake"], words
    command, args = words[3], words[4:]
    group = typer.main.get_command(app)
    sub = group.commands[command]
    sub.make_context(command, list(args))  # raises on an unknown flag or a bad value
    if "--config" in args:
        load_config(REPO / args[args.index("--config") + 1])


@pytest.mark.parametrize("name", ["aws.yaml", "gcp.yaml"])
def test_cluster_launcher_configs(name):
    cfg = _load(name)
    for key in ("cluster_name", "max_workers", "provider", "available_node_types",
                "head_node_type", "setup_commands", "file_mounts"):  # fmt: skip
        assert key in cfg, key
    assert cfg["provider"]["type"] == name.split(".")[0]
    assert cfg["head_node_type"] in cfg["available_node_types"]
    workers = [t for n, t in cfg["available_node_types"].items() if n != cfg["head_node_type"]]
    assert workers and all(t["max_workers"] >= t["min_workers"] for t in workers)
    assert any("ecomlake[cluster]" in c for c in cfg["setup_commands"])
    assert "." in cfg["file_mounts"].values()


def test_rayjob_backfill():
    job = _load("k8s/rayjob-backfill.yaml")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    spec = job["spec"]
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"]
    _check_entrypoint(spec["entrypoint"])
    assert "--ray-address auto" in spec["entrypoint"]


def test_raycronjob_daily():
    cron = _load("k8s/raycronjob-daily.yaml")
    assert (cron["apiVersion"], cron["kind"]) == ("ray.io/v1", "RayCronJob")
    assert len(cron["spec"]["schedule"].split()) == 5
    entrypoint = cron["spec"]["jobTemplate"]["entrypoint"]
    _check_entrypoint(entrypoint)
    assert "--dates yesterday" in entrypoint


def test_entrypoint_check_can_fail():
    with pytest.raises(Exception, match="no_such_flag"):
        _check_entrypoint(
            "python -m ecomlake generate --config gen_config/quick.yaml --no_such_flag"
        )


def test_dockerfile_installs_the_package():
    text = (CLUSTER / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM rayproject/ray:" in text
    assert "pip install" in text and ".[cluster]" in text
