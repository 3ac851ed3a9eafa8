"""Models for the YAML `parameters` block: the behavioural knobs of the simulated shop.

Each sub-model validates its own values; checks that need other sections live in `models.py`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Self

from pydantic import field_validator, model_validator

from ecomlake.config.bounds import window_problem
from ecomlake.config.fields import (
    CartLines,
    Distribution,
    FloatRange,
    IsoDate,
    MonthFactors,
    NonNegFloat,
    NonNegInt,
    NonNegIntRange,
    NonNegMap,
    Percent,
    PositiveInt,
    PositiveIntRange,
    Probability,
    StrictModel,
    UnitRange,
    Weights,
    rule,
)

DEFAULT_KEY = "default"
_YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _require_default(mapping: dict, what: str, *at: str) -> None:
    """Lookups fall back to `default` (guests, no-tier customers, unlisted keys): it must exist."""
    if DEFAULT_KEY not in mapping:
        raise rule(f"must have a '{DEFAULT_KEY}' {what} entry", *at)


class DelaySpec(StrictModel):
    """Lognormal gap between repeat visits: mean = middle of `range`, at least its low end."""

    range: PositiveIntRange
    sigma: NonNegFloat


class RepeatPurchaseSettings(StrictModel):
    """Repeat visits per customer, keyed by signup channel, then loyalty tier."""

    propensity_by_channel_and_tier: dict[str, NonNegMap]
    time_delay_by_channel_and_tier: dict[str, dict[str, DelaySpec]]

    @field_validator("propensity_by_channel_and_tier", "time_delay_by_channel_and_tier")
    @classmethod
    def _defaults_present(cls, value: dict[str, dict]) -> dict[str, dict]:
        _require_default(value, "channel")
        for channel, by_tier in value.items():
            _require_default(by_tier, "tier", channel)
        return value


class CartBehavior(StrictModel):
    """Cart size for one tier: how many lines, and the quantity on each line."""

    item_count_range: CartLines
    quantity_range: PositiveIntRange


class RefundBehavior(StrictModel):
    """How much of an order a return of this reason takes back."""

    full_return_prob: Probability
    partial_quantity_prob: Probability


class ReactivationSettings(StrictModel):
    """A lapsed customer's single comeback visit."""

    probability: Probability
    delay_days_range: PositiveIntRange


class ShippingBusinessCosts(StrictModel):
    """What shipping costs the shop: a base per speed times 1 + U(low, high)."""

    base_costs: NonNegMap
    cost_variance_pct: FloatRange

    @field_validator("cost_variance_pct")
    @classmethod
    def _cost_stays_positive(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] <= -1:
            raise rule("low must be greater than -1 (a cost cannot drop to zero or below)")
        return value


class FinancialsConfig(StrictModel):
    """Costs behind each order: actual shipping cost and payment processing fees."""

    shipping_business_costs: ShippingBusinessCosts
    payment_fee_rates: dict[str, Probability]


class DiscountSettings(StrictModel):
    """Line discounts: how often one applies and its share of the line price."""

    probability: Probability
    range_pct: UnitRange


class ParametersConfig(StrictModel):
    """The `parameters` block; optional knobs carry the older generator's code defaults."""

    signup_years: PositiveInt
    expedited_pct: Percent
    gender_unknown_prob: float | None = None  # accepted, unused: lookup_config's value is used
    order_days_back: NonNegInt
    conversion_rate: Probability
    time_to_first_cart_days_range: NonNegIntRange
    first_purchase_conversion_boost: NonNegMap
    repeat_purchase_settings: RepeatPurchaseSettings
    cart_behavior_by_tier: dict[str, CartBehavior]
    refund_behavior_by_reason: dict[str, RefundBehavior]
    return_timing_distribution: list[tuple[int, float]]
    multi_return_probability: Probability
    retention_shocks: NonNegMap
    tier_spend_thresholds: NonNegMap
    clv_spend_thresholds: NonNegMap
    seasonal_factors: MonthFactors
    reactivation_settings: ReactivationSettings
    abandoned_cart_emptied_prob: Probability
    return_rate_by_signup_channel: dict[str, Probability]
    return_rate: Probability
    category_preference_by_signup_channel: dict[str, NonNegMap]
    financials: FinancialsConfig
    no_tier_probability: Probability
    signup_channel_distribution: Distribution
    order_channel_distribution: Distribution
    shipping_speed_distribution: Distribution
    shipping_costs: NonNegMap
    discount_settings: DiscountSettings
    global_payment_method_distribution: Distribution
    loyalty_distribution_by_channel: dict[str, Weights]
    customer_id_start: NonNegInt = 1000
    guest_contact_pool_size: PositiveInt = 50
    guest_contact_reuse_prob: Probability = 0.2
    customer_status_probs: Weights | None = None
    email_verified_prob: Probability = 0.8
    marketing_opt_in_prob: Probability = 0.5
    seasonal_spike_factors: dict[str, MonthFactors] | None = None
    return_reason_bias_schemas: dict[str, dict[str, NonNegMap]] | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None

    @field_validator("refund_behavior_by_reason")
    @classmethod
    def _has_default(cls, value: dict) -> dict:
        _require_default(value, "fallback")
        return value

    @field_validator("return_timing_distribution")
    @classmethod
    def _timing_is_a_cdf(cls, steps: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Entries are [max_days, cumulative probability] steps of a CDF ending at 1."""
        if not steps:
            raise rule("must list at least one [max_days, cumulative_probability] entry")
        previous_days, previous_prob = 0, 0.0
        for index, (max_days, prob) in enumerate(steps):
            if max_days < 1:
                raise rule("max_days must be at least 1", index)
            if max_days <= previous_days:
                raise rule("max_days must increase from one entry to the next", index)
            if not 0 <= prob <= 1:
                raise rule("cumulative probability must be between 0 and 1", index)
            if prob < previous_prob:
                raise rule("cumulative probabilities must not decrease", index)
            previous_days, previous_prob = max_days, prob
        if abs(previous_prob - 1.0) > 1e-6:
            raise rule(f"last cumulative probability must be 1 (got {previous_prob:.6g})")
        return steps

    @field_validator("retention_shocks")
    @classmethod
    def _shock_keys_are_months(cls, value: dict[str, float]) -> dict[str, float]:
        for key in value:
            if not _YEAR_MONTH.fullmatch(key):
                raise rule(f"keys must be months written 'YYYY-MM' (got {key!r})")
        return value

    @field_validator("tier_spend_thresholds", "clv_spend_thresholds")
    @classmethod
    def _has_zero_threshold(cls, value: dict[str, float]) -> dict[str, float]:
        """Earned status needs a bucket for customers who have spent nothing."""
        if 0 not in value.values():
            raise rule("must include an entry with threshold 0")
        return value

    @model_validator(mode="after")
    def _window_pins(self) -> Self:
        """The world window is pinned by both dates or by neither."""
        start, end = self.start_date, self.end_date
        if start is not None and end is None:
            raise rule("must be set when start_date is set", "end_date")
        if end is not None and start is None:
            raise rule("must be set when end_date is set", "start_date")
        if start is not None and end is not None and start > end:
            raise rule(f"must be on or before end_date ({start} > {end})", "start_date")
        problem = None if start is None else window_problem(start, end, self.signup_years)
        if problem:
            raise rule(problem[1], f"{problem[0]}_date")
        return self

    @model_validator(mode="after")
    def _speeds_have_costs(self) -> Self:
        """Every shipping speed that can be drawn needs a price and a cost to the business."""
        base_costs = self.financials.shipping_business_costs.base_costs
        for speed in self.shipping_speed_distribution:
            if speed not in self.shipping_costs:
                raise rule(f"must have a cost for shipping speed {speed!r}", "shipping_costs")
            if speed not in base_costs:
                at = ("financials", "shipping_business_costs", "base_costs")
                raise rule(f"must have a cost for shipping speed {speed!r}", *at)
        return self

    def pinned_window(self) -> tuple[date, date] | None:
        """The (start, end) pinned in the config, or None when the window comes from elsewhere."""
        if self.start_date is None or self.end_date is None:
            return None
        return self.start_date, self.end_date
