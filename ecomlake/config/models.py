"""Frozen pydantic models for the whole generator YAML; attribute names are the YAML keys.

A model that validates is safe to plan from: every cross-section rule is checked here, not later.
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from ecomlake.config.fields import (
    CART_LINES_RULE,
    FractionRange,
    IntRange,
    Names,
    NonNegInt,
    PositiveFloat,
    PositiveInt,
    Probability,
    Seed,
    StrictModel,
    cart_lines_ok,
    check_sums_to_one,
    rule,
)
from ecomlake.config.messiness import MessinessConfig
from ecomlake.config.parameters import ParametersConfig

DEFAULT_STATUS_OPTIONS = ["Active", "Inactive", "Dormant"]
DEFAULT_STATUS_PROBS = [0.7, 0.2, 0.1]


class ColumnConfig(StrictModel):
    """One output column; `options`/`probabilities` fix the values a column may draw from."""

    name: str
    type: str
    options: list[str] | None = None
    probabilities: list[Probability] | None = None

    @model_validator(mode="after")
    def _options_match_probabilities(self) -> Self:
        if self.probabilities is None:
            return self
        if self.options is None:
            raise rule("must come with options", "probabilities")
        if len(self.probabilities) != len(self.options):
            n = len(self.options)
            raise rule(f"must have {n} entries, one per option", "probabilities")
        check_sums_to_one(self.probabilities, "probabilities")
        return self


class TableConfig(StrictModel):
    """One table entry; `generate` (shopping_carts) and `item_count_range` (cart_items) are read."""

    name: str
    columns: list[ColumnConfig] = Field(default_factory=list)
    generate: NonNegInt | None = None
    item_count_range: IntRange | None = None
    link_to_orders: bool | None = None

    @field_validator("columns")
    @classmethod
    def _unique_columns(cls, columns: list[ColumnConfig]) -> list[ColumnConfig]:
        return _unique_names(columns)

    @model_validator(mode="after")
    def _cart_lines(self) -> Self:
        """cart_items' range sizes carts when no tier says (elsewhere it is ignored)."""
        lines = self.item_count_range
        if self.name == "cart_items" and lines and not all(map(cart_lines_ok, lines)):
            raise rule(CART_LINES_RULE, "item_count_range")
        return self

    def column(self, name: str) -> ColumnConfig | None:
        """The column called `name`, or None."""
        return next((c for c in self.columns if c.name == name), None)


class ProductCatalogConfig(StrictModel):
    """Size and price ranges of the product catalog."""

    num_products: PositiveInt
    min_price: PositiveFloat
    max_price: PositiveFloat
    cost_price_margin_range: FractionRange
    min_inventory_quantity: NonNegInt
    max_inventory_quantity: NonNegInt
    generator: str | None = None  # accepted, unused: a module path in the older generator

    @model_validator(mode="after")
    def _ordered_bounds(self) -> Self:
        if self.max_price < self.min_price:
            raise rule(f"must be at least min_price ({self.min_price:g})", "max_price")
        if self.max_inventory_quantity < self.min_inventory_quantity:
            low = self.min_inventory_quantity
            raise rule(f"must be at least min_inventory_quantity ({low})", "max_inventory_quantity")
        return self


class CustomersLookupConfig(StrictModel):
    """Size and make-up of the customer dimension."""

    num_customers: PositiveInt
    min_age: NonNegInt
    max_age: NonNegInt
    gender_unknown_prob: Probability
    guest_shopper_pct: Probability
    generator: str | None = None  # accepted, unused

    @model_validator(mode="after")
    def _ordered_ages(self) -> Self:
        if self.max_age < self.min_age:
            raise rule(f"must be at least min_age ({self.min_age})", "max_age")
        return self


class LookupConfig(StrictModel):
    """The two dimension tables made once per world."""

    product_catalog: ProductCatalogConfig
    customers: CustomersLookupConfig


class CategoryVocab(StrictModel):
    """Words a product name of one category is built from: '<adjective> <noun>'."""

    adjectives: Names
    nouns: Names


class Agent(StrictModel):
    """A customer-service agent who can be assigned to phone orders."""

    id: str
    name: str | None = None


class AgentPool(StrictModel):
    """The agents; when enabled, at least one is needed to staff phone orders."""

    enabled: bool = True
    agents: list[Agent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_agents(self) -> Self:
        if self.enabled and not self.agents:
            raise rule("must list at least one agent when the pool is enabled", "agents")
        seen: set[str] = set()
        for index, agent in enumerate(self.agents):
            if agent.id in seen:
                raise rule(f"must be unique ({agent.id!r} appears twice)", "agents", index, "id")
            seen.add(agent.id)
        return self


class VocabConfig(StrictModel):
    """Controlled vocabularies; the `list[str] | None` ones are accepted but unused."""

    category_vocab: dict[str, CategoryVocab]
    categories: Names
    genders: Names
    loyalty_tiers: Names
    signup_channels: Names
    return_reasons: Names
    agent_pool: AgentPool
    regions: list[str] | None = None
    payment_methods: list[str] | None = None
    customer_tiers: list[str] | None = None
    shipping_speeds: list[str] | None = None
    order_channels: list[str] | None = None
    return_channels: list[str] | None = None
    clv_buckets: list[str] | None = None
    customer_status_options: Names = DEFAULT_STATUS_OPTIONS

    @model_validator(mode="after")
    def _categories_have_words(self) -> Self:
        """Product names are built from `category_vocab[category.lower()]`, and each category
        names a folder of the lake (`product_catalog/category_key=<category>`)."""
        for index, category in enumerate(self.categories):
            problem = _folder_problem(category)
            if problem:
                raise rule(f"cannot name a partition folder: {problem}", "categories", index)
            key = category.lower()
            if key not in self.category_vocab:
                raise rule(
                    f"must have an entry {key!r} in vocab.category_vocab", "categories", index
                )
        return self


# A folder name holds at most 255 bytes; `category_key=` takes 13 of them.
_CATEGORY_BYTES = 255 - len("category_key=")


def _folder_problem(name: str) -> str | None:
    """Why `name` cannot follow `category_key=` in a folder name on every store; None if it can."""
    if name.strip() in ("", ".", "..") or any(c in name for c in "/\\\x00"):
        return "it must not be empty, '.' or '..', or hold '/', '\\' or a NUL"
    if re.search(r"%[0-9A-Fa-f]{2}", name):
        return "'%' and two hex digits would be read back as an escape by Hive readers"
    if len(name.encode()) > _CATEGORY_BYTES:
        return f"it takes {len(name.encode())} bytes, at most {_CATEGORY_BYTES} fit"
    return None


class ChannelRule(StrictModel):
    """Per order channel: which payment methods it takes and where its returns go."""

    allowed_payment_methods: list[str] | None = None
    return_channel_preference: str | None = None

    @field_validator("allowed_payment_methods")
    @classmethod
    def _not_empty(cls, methods: list[str] | None) -> list[str] | None:
        if methods is not None and not methods:
            raise rule("must list at least one payment method (or be left out)")
        return methods


class EcomConfig(StrictModel):
    """The whole YAML; root validators check the rules that span sections."""

    row_generators: dict[str, str] | None = None  # accepted, unused
    output_dir: str | None = None  # accepted, unused: the CLI decides where output goes
    faker_seed: Seed = 42
    tables: list[TableConfig]
    lookup_config: LookupConfig
    vocab: VocabConfig
    parameters: ParametersConfig
    channel_rules: dict[str, ChannelRule] = Field(default_factory=dict)
    clv_map: dict[str, str] | None = None
    # Left out of the config fingerprint (so clean runs keep theirs); messy runs fold the
    # resolved level into their fingerprint instead (ecomlake/messiness/levels.py).
    messiness: MessinessConfig | None = Field(default=None, exclude=True)

    @field_validator("tables")
    @classmethod
    def _unique_tables(cls, tables: list[TableConfig]) -> list[TableConfig]:
        return _unique_names(tables)

    @model_validator(mode="after")
    def _cross_section_rules(self) -> Self:
        _check_channel_rules(self)
        _check_fee_rates(self)
        _check_loyalty_distribution(self)
        _check_category_preferences(self)
        _check_status_probs(self)
        _check_segment_keys(self)
        return self

    def document(self, **dump: Any) -> dict[str, Any]:
        """The config as the YAML's mapping, `messiness` included: it is left out of the model's
        own dump only to keep it out of the fingerprint. `dump`: model_dump's options."""
        body = self.model_dump(mode="json", **dump)
        if self.messiness is not None:
            body["messiness"] = self.messiness.model_dump(mode="json", **dump)
        return body

    def table(self, name: str) -> TableConfig | None:
        """The table entry called `name`, or None."""
        return next((t for t in self.tables if t.name == name), None)

    def customer_status_distribution(self) -> tuple[list[str], list[float]]:
        """Status labels and weights; the customers table's column wins (older tool ignored it)."""
        table = self.table("customers")
        column = table.column("customer_status") if table else None
        if column is not None and column.options:
            options = list(column.options)
            return options, list(column.probabilities or _uniform(len(options)))
        options = list(self.vocab.customer_status_options)
        probs = self.parameters.customer_status_probs
        if probs is None:
            probs = DEFAULT_STATUS_PROBS if len(options) == 3 else _uniform(len(options))
        return options, list(probs)


def _unique_names(items: list) -> list:
    """Entries of a list keyed by `.name` must not repeat a name."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name in seen:
            raise rule(f"must be unique ({item.name!r} appears twice)", index, "name")
        seen.add(item.name)
    return items


def _uniform(n: int) -> list[float]:
    return [1.0 / n] * n


def _check_channel_rules(cfg: EcomConfig) -> None:
    """Rules must name real order channels and payment methods the shop knows."""
    methods = cfg.parameters.global_payment_method_distribution
    channels = cfg.parameters.order_channel_distribution
    for channel, channel_rule in cfg.channel_rules.items():
        if channel not in channels:
            raise rule(
                "must be an order channel listed in parameters.order_channel_distribution",
                "channel_rules",
                channel,
            )
        for index, method in enumerate(channel_rule.allowed_payment_methods or []):
            if method not in methods:
                raise rule(
                    "must be a payment method listed in "
                    f"parameters.global_payment_method_distribution (got {method!r})",
                    *("channel_rules", channel, "allowed_payment_methods", index),
                )


def _check_fee_rates(cfg: EcomConfig) -> None:
    """Any method an order can be paid with needs a processing fee rate."""
    usable = [m for m, w in cfg.parameters.global_payment_method_distribution.items() if w > 0]
    for channel_rule in cfg.channel_rules.values():
        usable.extend(channel_rule.allowed_payment_methods or [])
    rates = cfg.parameters.financials.payment_fee_rates
    for method in dict.fromkeys(usable):
        if method not in rates:
            at = ("parameters", "financials", "payment_fee_rates")
            raise rule(f"must have a rate for payment method {method!r}", *at)


def _check_loyalty_distribution(cfg: EcomConfig) -> None:
    """Each weight list lines up with vocab.loyalty_tiers, and every signup channel has one."""
    by_channel = cfg.parameters.loyalty_distribution_by_channel
    n_tiers = len(cfg.vocab.loyalty_tiers)
    for channel, weights in by_channel.items():
        if len(weights) != n_tiers:
            raise rule(
                f"must have {n_tiers} weights, one per vocab.loyalty_tiers (got {len(weights)})",
                *("parameters", "loyalty_distribution_by_channel", channel),
            )
    if "default" in by_channel:
        return
    for channel in cfg.parameters.signup_channel_distribution:
        if channel not in by_channel:
            raise rule(
                f"must have an entry for signup channel {channel!r} or a 'default' entry",
                *("parameters", "loyalty_distribution_by_channel"),
            )


def _check_category_preferences(cfg: EcomConfig) -> None:
    """Preference keys are lower-case category names; a typo would silently do nothing."""
    known = {c.lower() for c in cfg.vocab.categories}
    for channel, weights in cfg.parameters.category_preference_by_signup_channel.items():
        for key in weights:
            if key.lower() not in known:
                raise rule(
                    f"must be a category from vocab.categories (got {key!r})",
                    *("parameters", "category_preference_by_signup_channel", channel, key),
                )


def _check_status_probs(cfg: EcomConfig) -> None:
    """customer_status_probs weights the entries of vocab.customer_status_options one to one."""
    probs = cfg.parameters.customer_status_probs
    n = len(cfg.vocab.customer_status_options)
    if probs is not None and len(probs) != n:
        raise rule(
            f"must have {n} weights, one per vocab.customer_status_options (got {len(probs)})",
            *("parameters", "customer_status_probs"),
        )


def _check_segment_keys(cfg: EcomConfig) -> None:
    """Keys that pick a segment must name a known channel, tier or reason, or 'default'."""
    p = cfg.parameters
    rps = p.repeat_purchase_settings
    channels = ({*p.signup_channel_distribution, "default"}, "signup channel")
    tiers = ({*cfg.vocab.loyalty_tiers, "default"}, "loyalty tier")
    reasons = ({*cfg.vocab.return_reasons, "default"}, "return reason")
    checks: list[tuple[tuple, dict, tuple[set[str], str]]] = [
        (("first_purchase_conversion_boost",), p.first_purchase_conversion_boost, channels),
        (("return_rate_by_signup_channel",), p.return_rate_by_signup_channel, channels),
        (("loyalty_distribution_by_channel",), p.loyalty_distribution_by_channel, channels),
        (
            ("category_preference_by_signup_channel",),
            p.category_preference_by_signup_channel,
            channels,
        ),
        (("cart_behavior_by_tier",), p.cart_behavior_by_tier, tiers),
        (("refund_behavior_by_reason",), p.refund_behavior_by_reason, reasons),
    ]
    for name in ("propensity_by_channel_and_tier", "time_delay_by_channel_and_tier"):
        by_channel = getattr(rps, name)
        checks.append((("repeat_purchase_settings", name), by_channel, channels))
        for channel, by_tier in by_channel.items():
            checks.append((("repeat_purchase_settings", name, channel), by_tier, tiers))
    for path, mapping, (known, what) in checks:
        for key in mapping:
            if key not in known:
                at = ("parameters", *path, key)
                raise rule(f"must be a {what} of this config or 'default' (got {key!r})", *at)
