"""The optional top-level `messiness:` block: per-level overrides of the defect rates.

The presets live in `ecomlake/messiness/levels.py`; a key left out keeps its preset value.
"""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from ecomlake.config.fields import NonNegFloat, PositiveInt, Probability, StrictModel, rule

_RATES = (
    "whitespace",
    "casing",
    "nulls",
    "reason_bias",
    "duplicates",
    "near_duplicates",
    "typos",
    "format_drift",
    "late_arrival",
    "orphan_fk",
    "out_of_range",
    "stale_dimension",
)
_NUMERIC = (*_RATES, "sales_spike_factor", "late_max_days")
MAX_LATE_DAYS = 30


class MessLevelConfig(StrictModel):
    """Overrides for one level; probabilities are per eligible cell (or per return row)."""

    whitespace: Probability | None = None
    casing: Probability | None = None
    nulls: Probability | None = None
    reason_bias: Probability | None = None
    sales_spike_factor: NonNegFloat | None = None
    duplicates: Probability | None = None
    near_duplicates: Probability | None = None
    typos: Probability | None = None
    format_drift: Probability | None = None
    late_arrival: Probability | None = None
    late_max_days: PositiveInt | None = None
    orphan_fk: Probability | None = None
    out_of_range: Probability | None = None
    stale_dimension: Probability | None = None
    intensity: str | None = None  # key into seasonal_spike_factors / return_reason_bias_schemas

    @model_validator(mode="after")
    def _no_explicit_nulls(self) -> Self:
        """`whitespace: null` is almost surely a mistake: leave the key out to keep the preset."""
        for name in _NUMERIC:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise rule("must be a number (leave the key out to keep the preset)", name)
        if (self.late_max_days or 0) > MAX_LATE_DAYS:
            raise rule(f"must be at most {MAX_LATE_DAYS}", "late_max_days")
        return self

    def overrides(self) -> dict[str, float | str | None]:
        """Only the keys the YAML set."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class MessinessConfig(StrictModel):
    """One optional entry per messy level; `none`/`baseline` have nothing to configure."""

    light_mess: MessLevelConfig | None = None
    medium_mess: MessLevelConfig | None = None
    heavy_mess: MessLevelConfig | None = None
