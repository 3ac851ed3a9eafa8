"""The product catalog: ids 1..n, category, name parts, prices in cents, inventory.

Small (thousands of rows), built once and shipped whole to every day task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.plan.lexicon import Lexicon
from ecomlake.rng import Rng
from ecomlake.rng import streams as s


@dataclass
class CatalogPlan:
    """Per-product arrays; product_id = index + 1."""

    category: np.ndarray  # int8 into lexicon.categories
    name: np.ndarray  # int32 into `names`
    names: tuple[str, ...]  # every "<adjective> <noun>" the vocabulary allows
    price_cents: np.ndarray  # int64
    cost_cents: np.ndarray  # int64
    inventory: np.ndarray  # int32
    by_category: np.ndarray  # product indices sorted by category
    category_offsets: np.ndarray  # start of each category in by_category (len = n_categories + 1)

    @property
    def size(self) -> int:
        return len(self.category)

    def category_counts(self) -> np.ndarray:
        return np.diff(self.category_offsets)


def build_catalog(cfg: EcomConfig, lex: Lexicon, rng: Rng) -> CatalogPlan:
    """Draw every product; names combine an adjective and a noun of the product's category."""
    pc = cfg.lookup_config.product_catalog
    ids = np.arange(pc.num_products, dtype=np.int64)
    category = rng.integers(s.PRODUCT_CATEGORY, ids, 0, len(lex.categories) - 1).astype(np.int8)

    names: list[str] = []
    name_base = []
    sizes = []
    for cat in lex.categories:
        vocab = cfg.vocab.category_vocab[cat.lower()]
        name_base.append(len(names))
        sizes.append((len(vocab.adjectives), len(vocab.nouns)))
        names.extend(f"{a} {n}" for a in vocab.adjectives for n in vocab.nouns)
    n_adj = np.array([a for a, _ in sizes])[category]
    n_noun = np.array([b for _, b in sizes])[category]
    adjective = rng.integers(s.PRODUCT_ADJECTIVE, ids, 0, n_adj - 1)
    noun = rng.integers(s.PRODUCT_NOUN, ids, 0, n_noun - 1)
    name = np.array(name_base)[category] + adjective * n_noun + noun

    price = np.round(rng.uniform(s.PRODUCT_PRICE, ids, pc.min_price, pc.max_price) * 100)
    lo, hi = pc.cost_price_margin_range
    cost = np.round(price * rng.uniform(s.PRODUCT_MARGIN, ids, lo, hi))
    inventory = rng.integers(
        s.PRODUCT_INVENTORY, ids, pc.min_inventory_quantity, pc.max_inventory_quantity
    )
    by_category = np.argsort(category, kind="stable")
    offsets = np.searchsorted(category[by_category], np.arange(len(lex.categories) + 1))
    return CatalogPlan(
        category=category,
        name=name.astype(np.int32),
        names=tuple(names),
        price_cents=price.astype(np.int64),
        cost_cents=cost.astype(np.int64),
        inventory=inventory.astype(np.int32),
        by_category=by_category,
        category_offsets=offsets,
    )
