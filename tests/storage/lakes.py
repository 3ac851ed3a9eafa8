"""The small world every storage test writes, and how to fingerprint a lake anywhere."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path

from ecomlake.config import EcomConfig, load_config
from ecomlake.config.load import load_config_text
from ecomlake.lake.fs import resolve_target
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[2]
QUICK_CONFIG = REPO / "gen_config" / "quick.yaml"
START = dt.date(2024, 1, 1)
END = dt.date(2024, 1, 10)
SMALL_CUSTOMERS = 200
TINY_CUSTOMERS = 100
BATCH_ID = "storage-test"
KEY = "testing"  # moto takes any key pair
SECRET = "testing"
REGION = "us-east-1"
INGESTION_TS = "2024-04-01T00:00:00+00:00"


@cache
def quick_config() -> EcomConfig:
    """gen_config/quick.yaml as it is: ~320 partitions (~950 objects) for 2024-01-01..10."""
    return load_config(QUICK_CONFIG)


@cache
def config_with(customers: int) -> EcomConfig:
    """quick.yaml with fewer customers. The first task of a run owns every earlier signup
    partition (a year of them), and moto answers ~150 requests/s, so the customer count is
    what sets a run's time on S3: 2000 (quick as is) ~30 s, 200 ~10 s, 100 ~6 s."""
    text = QUICK_CONFIG.read_text()
    assert "num_customers: 2000" in text
    small = text.replace("num_customers: 2000", f"num_customers: {customers}")
    return load_config_text(small, f"quick.yaml ({customers} customers)")


def small_config() -> EcomConfig:
    """~115 partitions (~350 objects) over 2024-01-01..10, orders on a few days."""
    return config_with(SMALL_CUSTOMERS)


def tiny_config() -> EcomConfig:
    """~70 partitions (~220 objects): for the fault tests, where only the writes matter."""
    return config_with(TINY_CUSTOMERS)


def world_options(target: str, **overrides) -> GenerateOptions:
    """Quick config, 2024-01-01..10, pinned lineage, in-process unless overridden."""
    values = {
        "target": target,
        "start_date": START,
        "end_date": END,
        "executor": "in-process",
        "batch_id": BATCH_ID,
        "ingestion_ts": INGESTION_TS,
    }
    values.update(overrides)
    return GenerateOptions(**values)


def world_args(target: str, *extra: str) -> list[str]:
    """The same world as CLI arguments."""
    return [
        "generate",
        "-c",
        str(QUICK_CONFIG),
        "--target",
        target,
        "--start-date",
        START.isoformat(),
        "--end-date",
        END.isoformat(),
        "--executor",
        "in-process",
        "--batch-id",
        BATCH_ID,
        "--ingestion-ts",
        INGESTION_TS,
        "--no-progress",
        *extra,
    ]


def local_hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root`, `_runs/` excluded."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith("_runs/")
    }


def remote_hashes(fs, root: str) -> dict[str, str]:
    """The same for an fsspec filesystem (`root` = bucket/prefix).

    One GET after another: gcsfs's batched `cat` takes ~1 s per object on the emulator."""
    fs.invalidate_cache()
    hashes = {}
    for path in sorted(fs.find(root)):
        rel = path[len(root) + 1 :]
        if not rel.startswith("_runs/"):
            hashes[rel] = hashlib.sha256(fs.cat_file(path)).hexdigest()
    return hashes


def s3_options(endpoint: str, key: str = KEY, secret: str = SECRET) -> dict[str, str]:
    """Storage options that need no env: what a Ray worker on another machine would get."""
    return {"endpoint_url": endpoint, "key": key, "secret": secret}


def s3_client(endpoint: str):
    """A boto3 S3 client on the moto server with the test credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    )


def upload_tree(local: Path, uri: str, options: dict | None = None) -> None:
    """Every file of `local` under `uri`, one PUT after another (gcsfs's batched calls take
    ~1 s per object on the emulator)."""
    loc = resolve_target(uri, options)
    for path in sorted(local.rglob("*")):
        if path.is_file():
            loc.fs.pipe_file(f"{loc.root}/{path.relative_to(local).as_posix()}", path.read_bytes())
