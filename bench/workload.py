"""The measured workload: backlog.yaml over a window, or a shrunken copy of it for `--smoke`.

The smoke world keeps every knob of backlog.yaml except its size (customers, carts, products and
the pinned window), so the smoke run goes through exactly the code the full bench measures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from ecomlake.config import EcomConfig, load_config
from ecomlake.config.load import load_config_text
from ecomlake.lake import ParquetOptions
from ecomlake.lineage import Lineage
from ecomlake.run.driver import GenerateOptions

REPO = Path(__file__).resolve().parents[1]
BACKLOG = REPO / "gen_config" / "backlog.yaml"
BATCH_ID = "bench"
INGESTION_TS = "2026-01-01T00:00:00+00:00"  # pinned: the same bytes every run
MESSINESS_LEVEL = "none"  # the clean lake; messy levels also write defect logs the bench skips
_SMOKE_WINDOW = (dt.date(2023, 5, 1), dt.date(2023, 7, 31))
_SMOKE_CUSTOMERS = 1000
_SMOKE_CARTS = 1000
_SMOKE_PRODUCTS = 200
_SMOKE_SIGNUP_YEARS = 1  # fewer signup days, so the first task owns fewer tiny partitions


@dataclass(frozen=True)
class Workload:
    """A config and the first day of every measured window."""

    config_path: Path
    config: EcomConfig
    start: dt.date
    smoke: bool = False
    compression: str = GenerateOptions.compression  # generate's codec unless a bench asks

    def options(
        self,
        target: str,
        days: int,
        workers: int,
        start: dt.date | None = None,
        plan_cache: bool = True,
    ) -> GenerateOptions:
        """The `generate` flags of one measured run (lineage pinned, the workload's codec)."""
        first = start or self.start
        return GenerateOptions(
            target=target,
            start_date=first,
            end_date=first + dt.timedelta(days=days - 1),
            workers=workers,
            executor="ray",
            batch_id=BATCH_ID,
            ingestion_ts=INGESTION_TS,
            messiness_level=MESSINESS_LEVEL,
            plan_cache=plan_cache,
            compression=self.compression,
        )

    def world_days(self) -> tuple[dt.date, int]:
        """First day and length of the config's pinned world window (the full backlog)."""
        pinned = self.config.parameters.pinned_window()
        if pinned is None:
            raise ValueError(f"{self.config_path}: the full backlog needs a pinned window")
        return pinned[0], (pinned[1] - pinned[0]).days + 1

    @property
    def lineage(self) -> Lineage:
        return Lineage(BATCH_ID, INGESTION_TS)

    @property
    def parquet(self) -> ParquetOptions:
        """The writer options of the measured runs, so the floor writes the same way."""
        return ParquetOptions(
            compression=self.compression, target_size_mb=GenerateOptions.target_size_mb
        )


def load_workload(config_path: Path, start: dt.date, smoke: bool) -> Workload:
    """The config as given, or (smoke) the same config shrunk to a few thousand customers."""
    if not smoke:
        return Workload(config_path, load_config(config_path), start)
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["parameters"]["start_date"], data["parameters"]["end_date"] = _SMOKE_WINDOW
    data["parameters"]["signup_years"] = _SMOKE_SIGNUP_YEARS
    lookup = data["lookup_config"]
    lookup["customers"]["num_customers"] = _SMOKE_CUSTOMERS
    lookup["product_catalog"]["num_products"] = _SMOKE_PRODUCTS
    for table in data["tables"]:
        if table["name"] == "shopping_carts":
            table["generate"] = _SMOKE_CARTS
    cfg = load_config_text(yaml.safe_dump(data), source=f"{config_path} (smoke size)")
    return Workload(config_path, cfg, start, smoke=True)
