"""Messiness levels: the older tool's presets, the YAML overrides, and the fingerprint they imply.

`none`/`baseline` resolve to None (nothing is applied); a messy level resolves to a `MessLevel`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging

from ecomlake.config import EcomConfig, config_fingerprint
from ecomlake.errors import ConfigError, OptionError

log = logging.getLogger(__name__)

CLEAN_LEVELS = ("none", "baseline")
MESSY_LEVELS = ("light_mess", "medium_mess", "heavy_mess")
MESSINESS_LEVELS = CLEAN_LEVELS + MESSY_LEVELS


@dataclasses.dataclass(frozen=True)
class MessLevel:
    """Concrete rates of one messy level (probabilities per eligible cell or row).

    `intensity` keys `parameters.seasonal_spike_factors` and `return_reason_bias_schemas`;
    a `sales_spike_factor` of 1 switches the spike off. `late_max_days` bounds how many days
    after its own day a late row lands.
    """

    name: str
    whitespace: float
    casing: float
    nulls: float
    sales_spike_factor: float
    reason_bias: float
    intensity: str | None
    duplicates: float = 0.0
    near_duplicates: float = 0.0
    typos: float = 0.0
    format_drift: float = 0.0
    late_arrival: float = 0.0
    late_max_days: int = 3
    orphan_fk: float = 0.0
    out_of_range: float = 0.0
    stale_dimension: float = 0.0


# The first six rates are the older tool's; the rest are ours (docs/messiness.md).
PRESETS: dict[str, MessLevel] = {
    "light_mess": MessLevel(
        "light_mess", 0.05, 0.05, 0.02, 1.0, 0.0, None,
        duplicates=0.005, near_duplicates=0.005, typos=0.01, format_drift=0.02,
        late_arrival=0.01, orphan_fk=0.002, out_of_range=0.002, stale_dimension=0.01,
    ),
    "medium_mess": MessLevel(
        "medium_mess", 0.08, 0.08, 0.04, 1.5, 0.25, "medium",
        duplicates=0.01, near_duplicates=0.01, typos=0.02, format_drift=0.05,
        late_arrival=0.02, orphan_fk=0.005, out_of_range=0.005, stale_dimension=0.03,
    ),
    "heavy_mess": MessLevel(
        "heavy_mess", 0.15, 0.15, 0.08, 2.0, 0.50, "high",
        duplicates=0.02, near_duplicates=0.02, typos=0.05, format_drift=0.10,
        late_arrival=0.05, orphan_fk=0.01, out_of_range=0.01, stale_dimension=0.05,
    ),
}  # fmt: skip


def resolve_level(cfg: EcomConfig, name: str) -> MessLevel | None:
    """The level's preset with the YAML `messiness.<level>` overrides; None for clean levels."""
    if name in CLEAN_LEVELS:
        return None
    if name not in PRESETS:
        rule = f"{{messiness_level}}: must be one of {', '.join(MESSINESS_LEVELS)}, got {name!r}"
        raise OptionError("", rule, "messiness_level")
    block = cfg.messiness
    overrides = getattr(block, name) if block is not None else None
    if overrides is None:
        return PRESETS[name]
    level = dataclasses.replace(PRESETS[name], **overrides.overrides())
    if level.duplicates + level.near_duplicates > 1:
        raise ConfigError(
            f"messiness.{name}: duplicates + near_duplicates must not exceed 1 "
            f"(got {level.duplicates} + {level.near_duplicates})"
        )
    return level


@dataclasses.dataclass(frozen=True)
class RunLevel:
    """A run's messiness level, resolved once: its name and, at a messy level, its rates."""

    name: str = "none"
    rates: MessLevel | None = None  # None: a clean level, nothing is applied

    def fingerprint(self, cfg: EcomConfig) -> str:
        """The config fingerprint folded with the rates (see `run_fingerprint`)."""
        return fold_level(config_fingerprint(cfg), self.rates)

    def record(self) -> dict | None:
        """The rates as `_lake.json` keeps them (None for clean levels)."""
        return None if self.rates is None else dataclasses.asdict(self.rates)


def run_fingerprint(cfg: EcomConfig, name: str) -> str:
    """The config fingerprint, folded with the resolved level when the level is messy.

    Clean levels keep the plain fingerprint, so their lakes are unchanged; a messy lake never
    reuses (or is reused by) partitions of another level or other rates.
    """
    return fold_level(config_fingerprint(cfg), resolve_level(cfg, name))


def fold_level(fingerprint: str, level: MessLevel | None) -> str:
    """A config fingerprint folded with a messy level (a clean level leaves it as it is)."""
    if level is None:
        return fingerprint
    body = {"config": fingerprint, "messiness": dataclasses.asdict(level)}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def level_from_record(record: dict | None) -> MessLevel | None:
    """The inverse of `RunLevel.record`; keys a newer version added fall back to their defaults."""
    if record is None:
        return None
    known = {f.name for f in dataclasses.fields(MessLevel)}
    return MessLevel(**{k: v for k, v in record.items() if k in known})


def spike_factors(cfg: EcomConfig, level: MessLevel) -> dict[int, float] | None:
    """`parameters.seasonal_spike_factors[intensity]` (month 1..12 -> factor), if configured."""
    table = cfg.parameters.seasonal_spike_factors
    if level.intensity is None or not table:
        return None
    return table.get(level.intensity)


def reason_bias_schema(cfg: EcomConfig, level: MessLevel) -> dict[str, dict[str, float]] | None:
    """`parameters.return_reason_bias_schemas[intensity]` (category -> reason weights), if any."""
    table = cfg.parameters.return_reason_bias_schemas
    if level.reason_bias <= 0 or level.intensity is None or not table:
        return None
    return table.get(level.intensity)


def check_level(cfg: EcomConfig, name: str, warn: bool = True) -> MessLevel | None:
    """Validate the flag before anything is written; say once per run what will be skipped
    (`warn`: a command that renders nothing, export-raw or doctor, does not say it)."""
    level = resolve_level(cfg, name)
    note = skipped_note(cfg, name, level)
    if note and warn:
        log.warning("%s", note)
    return level


def skipped_note(cfg: EcomConfig, name: str, level: MessLevel | None) -> str:
    """What a run at this level leaves out for want of a config entry, or ""."""
    if level is None or level.reason_bias <= 0 or reason_bias_schema(cfg, level) is not None:
        return ""
    return (
        f"messiness {name}: return-reason bias skipped (parameters.return_reason_bias_schemas "
        f"has no {level.intensity!r} entry)"
    )
