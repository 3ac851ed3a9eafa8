"""Cart lines as a pure function of the cart: the plan uses them for order totals and the day
renderer re-derives the very same lines, so items always add up to the plan's totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.plan.calendar import US_PER_DAY, US_PER_SECOND
from ecomlake.plan.catalog import CatalogPlan
from ecomlake.plan.groups import group_cumsum, group_ranks
from ecomlake.plan.lexicon import NONE, Lexicon
from ecomlake.plan.sorting import stable_argsort
from ecomlake.rng import Rng, cumulative
from ecomlake.rng import streams as s

MAX_SECONDS_BETWEEN_LINES = 300
FALLBACK_LINES = (1, 8)
FALLBACK_QUANTITY = (1, 3)


@dataclass(frozen=True)
class LineModel:
    """Per-segment tables: category mix by signup channel, cart size by initial tier."""

    category_cdf: np.ndarray  # (n_signup_channels + 1, n_categories); last row: no channel
    item_range: np.ndarray  # (n_tiers + 1, 2); last row: the `default` behaviour
    quantity_range: np.ndarray  # (n_tiers + 1, 2)

    @classmethod
    def from_config(cls, cfg: EcomConfig, lex: Lexicon, catalog: CatalogPlan) -> LineModel:
        prefs = cfg.parameters.category_preference_by_signup_channel
        has_products = catalog.category_counts() > 0
        rows = []
        for ch in [*lex.signup_channels, None]:
            weights = prefs.get(ch, {}) if ch else {}
            w = np.array([weights.get(c.lower(), 1.0) for c in lex.categories]) * has_products
            rows.append(cumulative(w if w.sum() > 0 else has_products.astype(float)))
        behaviours = cfg.parameters.cart_behavior_by_tier
        default = _default_behaviour(cfg)
        per_tier = [
            (b.item_count_range, b.quantity_range) if (b := behaviours.get(t)) else default
            for t in lex.tiers
        ] + [default]
        return cls(
            category_cdf=np.array(rows),
            item_range=np.array([list(b[0]) for b in per_tier], dtype=np.int64),
            quantity_range=np.array([list(b[1]) for b in per_tier], dtype=np.int64),
        )

    def tier_row(self, tier: np.ndarray) -> np.ndarray:
        """Row of the behaviour tables for each initial tier (NONE -> default)."""
        return np.where(tier == NONE, len(self.item_range) - 1, tier).astype(np.int64)

    def channel_row(self, channel: np.ndarray) -> np.ndarray:
        return np.where(channel == NONE, len(self.category_cdf) - 1, channel).astype(np.int64)


def _default_behaviour(cfg: EcomConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """Cart size for guests, no-tier customers and unlisted tiers.

    `cart_behavior_by_tier.default` when present; else the cart_items table's `item_count_range`
    with quantities 1-3, the older tool's fallback for customers without a tier.
    """
    default = cfg.parameters.cart_behavior_by_tier.get("default")
    if default is not None:
        return default.item_count_range, default.quantity_range
    table = cfg.table("cart_items")
    lines = table.item_count_range if table and table.item_count_range else FALLBACK_LINES
    return (lines, FALLBACK_QUANTITY)


@dataclass
class Lines:
    """One row per cart line, grouped by cart in the order the carts were given."""

    cart: np.ndarray  # position of the line's cart in the input arrays
    line_no: np.ndarray  # 0-based line number within the cart
    product: np.ndarray  # product index (product_id - 1)
    quantity: np.ndarray  # int64
    price_cents: np.ndarray  # unit price, int64 cents
    added_us: np.ndarray | None = None  # int64 microseconds since epoch; None: from draw_items

    @property
    def amount_cents(self) -> np.ndarray:
        return self.price_cents * self.quantity


def draw_line_counts(
    model: LineModel, rng: Rng, cart_key: np.ndarray, tier: np.ndarray
) -> np.ndarray:
    """Number of lines per cart from its customer's tier behaviour (1-D bound columns, read in
    place by the integer kernel, rather than an (n, 2) gather and its strided columns)."""
    rows = model.tier_row(tier)
    low, high = model.item_range[:, 0][rows], model.item_range[:, 1][rows]
    return rng.integers(s.CART_LINE_COUNT, cart_key, low, high)


def draw_lines(
    model: LineModel,
    catalog: CatalogPlan,
    rng: Rng,
    cart_key: np.ndarray,
    created_us: np.ndarray,
    n_lines: np.ndarray,
    channel: np.ndarray,
    tier: np.ndarray,
    world_end_day: int,
) -> Lines:
    """Every line of the given carts: category, product, quantity, price and added_at."""
    lines, key = draw_items(model, catalog, rng, cart_key, n_lines, channel, tier)
    line_no, cart = lines.line_no, lines.cart
    seconds = rng.integers(s.LINE_SECONDS, key, 1, MAX_SECONDS_BETWEEN_LINES, index=line_no)
    elapsed = group_cumsum(seconds, n_lines)
    last_us = (world_end_day + 1) * US_PER_DAY - 1
    lines.added_us = np.minimum(created_us[cart] + elapsed * US_PER_SECOND, last_us)
    return lines


def draw_items(
    model: LineModel,
    catalog: CatalogPlan,
    rng: Rng,
    cart_key: np.ndarray,
    n_lines: np.ndarray,
    channel: np.ndarray,
    tier: np.ndarray,
) -> tuple[Lines, np.ndarray]:
    """The lines' category, product, quantity and price (added_at None), and each line's cart
    key, which `draw_lines` draws added_at from; the plan's order totals need what was bought,
    not when each line was added.

    Per-cart and per-category values are worked out first and gathered once per line (the plan
    draws ~10M lines): gathers by `cart` rather than np.repeat, 1-D bound columns the integer
    kernel reads in place rather than an (n, 2) gather and its strided columns.
    """
    cart, line_no = group_ranks(n_lines)
    key = cart_key[cart]
    ch_rows = model.channel_row(channel)[cart]
    category = rng.categorical_rows(
        s.LINE_CATEGORY, key, model.category_cdf, ch_rows, index=line_no
    )
    last_pick = np.maximum(catalog.category_counts(), 1) - 1
    pick = rng.integers(s.LINE_PRODUCT, key, 0, last_pick[category], index=line_no)
    product = catalog.by_category[catalog.category_offsets[category] + pick]
    tier_rows = model.tier_row(tier)
    q_low = model.quantity_range[tier_rows, 0][cart]
    q_high = model.quantity_range[tier_rows, 1][cart]
    quantity = rng.integers(s.LINE_QUANTITY, key, q_low, q_high, index=line_no)
    lines = Lines(
        cart=cart,
        line_no=line_no,
        product=product.astype(np.int64, copy=False),
        quantity=quantity,
        price_cents=catalog.price_cents[product],
    )
    return lines, key


def cart_sums(lines: Lines, n_carts: int) -> tuple[np.ndarray, np.ndarray]:
    """(total cents, last added_at) per cart; carts without lines get (0, -1)."""
    last = np.full(n_carts, -1, dtype=np.int64)
    is_last = np.append(lines.cart[1:] != lines.cart[:-1], True) if len(lines.cart) else []
    last[lines.cart[is_last]] = lines.added_us[is_last]
    return cart_totals(lines, n_carts), last


def cart_totals(lines: Lines, n_carts: int) -> np.ndarray:
    """Total cents per cart (0 without lines)."""
    total = np.bincount(lines.cart, weights=lines.amount_cents, minlength=n_carts)
    return np.rint(total).astype(np.int64)


@dataclass
class MergedLines:
    """Lines merged per (cart, product), sorted by cart then product: what an order holds."""

    cart: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    price_cents: np.ndarray
    discount_cents: np.ndarray

    @property
    def amount_cents(self) -> np.ndarray:
        return self.price_cents * self.quantity


def merge_by_product(lines: Lines, discount_cents: np.ndarray) -> MergedLines:
    """Sum quantity and discount of lines that repeat a product within one cart."""
    width = int(lines.product.max()).bit_length() if len(lines.product) else 0
    order = stable_argsort((lines.cart << width) | lines.product)  # lines keep their order
    cart, product = lines.cart[order], lines.product[order]
    if len(order) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return MergedLines(empty, empty, empty, empty, empty)
    first = np.flatnonzero(
        np.concatenate([[True], (cart[1:] != cart[:-1]) | (product[1:] != product[:-1])])
    )
    return MergedLines(
        cart=cart[first],
        product=product[first],
        quantity=np.add.reduceat(lines.quantity[order], first),
        price_cents=lines.price_cents[order][first],
        discount_cents=np.add.reduceat(discount_cents[order], first),
    )


def distinct_products(lines: Lines, n_carts: int) -> np.ndarray:
    """Distinct products per cart: the rows `merge_by_product` gives each cart, counted from the
    sorted (cart, product) words alone, without its stable sort and merged sums."""
    if len(lines.product) == 0:
        return np.zeros(n_carts, dtype=np.int64)
    width = int(lines.product.max()).bit_length()
    words = np.sort((lines.cart << width) | lines.product)
    first = np.concatenate([[True], words[1:] != words[:-1]])
    return np.bincount(words[first] >> width, minlength=n_carts)


def draw_discounts(
    rng: Rng, cart_key: np.ndarray, lines: Lines, probability: float, pct_range: tuple
) -> np.ndarray:
    """Line discount in cents: with `probability`, a uniform share of the line amount."""
    key = cart_key[lines.cart]
    hit = rng.bernoulli(s.LINE_DISCOUNTED, key, probability, index=lines.line_no)
    pct = rng.uniform(s.LINE_DISCOUNT_PCT, key, pct_range[0], pct_range[1], index=lines.line_no)
    return np.where(hit, np.rint(lines.amount_cents * pct), 0).astype(np.int64)
