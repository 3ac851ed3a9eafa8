"""The optional top-level `messiness:` block: per-level overrides of the defect rates.

The presets live in `ecomlake/messiness/levels.py`; a key left out keeps its preset value.
"""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from ecomlake.config.fields import NonNegFloat, Probability, StrictModel, rule

_NUMERIC = ("whitespace", "casing", "nulls", "reason_bias", "sales_spike_factor")


class MessLevelConfig(StrictModel):
    """Overrides for one level; probabilities are per eligible cell (or per return row)."""

    whitespace: Probability | None = None
    casing: Probability | None = None
    nulls: Probability | None = None
    reason_bias: Probability | None = None
    sales_spike_factor: NonNegFloat | None = None
    intensity: str | None = None  # key into seasonal_spike_factors / return_reason_bias_schemas

    @model_validator(mode="after")
    def _no_explicit_nulls(self) -> Self:
        """`whitespace: null` is almost surely a mistake: leave the key out to keep the preset."""
        for name in _NUMERIC:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise rule("must be a number (leave the key out to keep the preset)", name)
        return self

    def overrides(self) -> dict[str, float | str | None]:
        """Only the keys the YAML set."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class MessinessConfig(StrictModel):
    """One optional entry per messy level; `none`/`baseline` have nothing to configure."""

    light_mess: MessLevelConfig | None = None
    medium_mess: MessLevelConfig | None = None
    heavy_mess: MessLevelConfig | None = None
