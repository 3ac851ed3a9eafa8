"""Constants and helpers shared by the trio tests (imported as `trio_helpers`; fixtures live in
conftest.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from ecomlake.api import generate
from ecomlake.config import EcomConfig
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 15)
BATCH, TS = "trio", "2024-04-01T00:00:00+00:00"


def generate_lake(cfg: EcomConfig, target: Path, target_size_mb: float) -> Path:
    """`generate` of START..END in-process with pinned lineage."""
    options = GenerateOptions(
        target=str(target),
        start_date=START,
        end_date=END,
        executor="in-process",
        batch_id=BATCH,
        ingestion_ts=TS,
        target_size_mb=target_size_mb,
    )
    assert generate(cfg, options).ok
    return target


def lake_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, except the run records and the lake identity."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith("_runs/") and rel != "_lake.json":
            hashes[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def one_line_error(capsys) -> str:
    """The CLI's stderr, asserted to be a single `error: …` line."""
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and lines[0] == err.splitlines()[-1], err
    return lines[0]
