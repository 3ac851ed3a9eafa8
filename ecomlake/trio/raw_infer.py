"""What `_run.json` would say of a run dir that has none (made by the older tool, or by hand):
the days its event CSVs cover, their rows, and the config fingerprint and seed of a
`_config.yaml` beside them when there is one. export-raw warns once that it inferred them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pv

from ecomlake.config import config_fingerprint
from ecomlake.config.load import load_config_text
from ecomlake.errors import ConfigError
from ecomlake.lake.identity import CONFIG_FILE
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.trio.csv_tables import csv_header
from ecomlake.trio.raw_run import RUN_FILE, RunInfo, read_run_info

log = logging.getLogger(__name__)

INFERRED_VERSION = "unknown (no _run.json)"
# The column that dates each row of a table the run was asked days of.
EVENT_DATES = {"shopping_carts": "created_at", "orders": "order_date", "returns": "return_date"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def run_info(directory: Path, flag: str) -> RunInfo:
    """The dir's `_run.json`, or what its CSVs say when it has none (with one warning)."""
    if (directory / RUN_FILE).is_file():
        return read_run_info(directory, flag)
    info = infer_run_info(directory, flag)
    log.warning(
        "%s: %s has no %s (an older tool's or hand-made run dir): taken from its CSVs: days "
        "%s..%s, seed %s, config %s",
        flag,
        directory,
        RUN_FILE,
        info.world_start,
        info.world_end,
        info.seed,
        info.config_fingerprint[:12],
    )
    return info


def infer_run_info(directory: Path, flag: str) -> RunInfo:
    """RunInfo from the table CSVs of `directory`; one-line ConfigError if it holds none."""
    paths = {name: directory / f"{name}.csv" for name in TABLE_NAMES}
    present = {name: path for name, path in paths.items() if path.is_file()}
    if not present:
        raise ConfigError(
            f"{flag}: {directory} has no {RUN_FILE} and no table CSVs (customers.csv, "
            "orders.csv, ...): not a run-generator dir"
        )
    days = sorted(
        {
            d
            for name, column in EVENT_DATES.items()
            if name in present
            for d in _days(present[name], column, flag)
        }
    )
    if not days and "customers" in present:  # a lookups-only dir: its signup range
        days = sorted(set(_days(present["customers"], "signup_date", flag)))
    fingerprint, seed = _config_facts(directory, present, flag)
    return RunInfo(
        path=directory,
        config_fingerprint=fingerprint,
        seed=seed,
        generator_version=INFERRED_VERSION,
        world_start=days[0] if days else dt.date(1970, 1, 1),
        world_end=days[-1] if days else dt.date(1970, 1, 1),
        days=tuple(days),
        rows={
            name: _column(path, csv_header(path, flag)[0], flag).length()
            for name, path in present.items()
        },
        inferred=True,
    )


def _column(path: Path, column: str, flag: str) -> pa.ChunkedArray:
    """One column as text (dates of a messy run may have drifted formats)."""
    try:
        table = pv.read_csv(
            path,
            convert_options=pv.ConvertOptions(
                include_columns=[column], column_types={column: pa.string()}
            ),
        )
    except (OSError, pa.ArrowInvalid) as exc:
        raise ConfigError(f"{flag}: cannot read {path} ({str(exc).splitlines()[0]})") from None
    return table.column(column)


def _days(path: Path, column: str, flag: str) -> list[dt.date]:
    """The distinct ISO days that start the column's values; others are skipped."""
    if column not in csv_header(path, flag):
        return []
    out = set()
    for value in set(_column(path, column, flag).to_pylist()):
        if value and _DAY.match(value):
            try:
                out.add(dt.date.fromisoformat(value[:10]))
            except ValueError:
                continue
    return sorted(out)


def _config_facts(directory: Path, present: dict[str, Path], flag: str) -> tuple[str, int]:
    """Fingerprint and seed of the dir's `_config.yaml`; without one, a fingerprint of the
    CSV headers (dirs of one tool and config share it) and seed 0 (unknown)."""
    path = directory / CONFIG_FILE
    if path.is_file():
        try:
            cfg = load_config_text(path.read_text(encoding="utf-8"), str(path))
            return config_fingerprint(cfg), cfg.faker_seed
        except (ConfigError, UnicodeDecodeError):
            log.warning("%s: %s does not load as a config: not used", flag, path)
    headers = "\n".join(f"{n}:{','.join(csv_header(p, flag))}" for n, p in sorted(present.items()))
    return hashlib.sha256(headers.encode()).hexdigest(), 0
