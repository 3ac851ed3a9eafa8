"""Cart lines (plan/lines.py): the shortcuts the plan takes equal the full computations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml

from ecomlake.config.models import EcomConfig
from ecomlake.plan.calendar import day_number
from ecomlake.plan.lines import (
    Lines,
    cart_sums,
    cart_totals,
    distinct_products,
    draw_items,
    draw_lines,
    merge_by_product,
)
from ecomlake.plan.world import WorldPlan, build_world
from ecomlake.rng import Rng

REPO = Path(__file__).resolve().parents[2]


def _lines(cart: list[int] | np.ndarray, product: list[int] | np.ndarray) -> Lines:
    cart, product = np.asarray(cart, np.int64), np.asarray(product, np.int64)
    ones = np.ones(len(cart), np.int64)
    return Lines(cart, np.zeros(len(cart), np.int64), product, ones, ones, ones)


CARTS = np.repeat(np.arange(5_000), 1 + np.arange(5_000) % 9)  # 1 to 9 lines a cart
PRODUCTS = Rng(3).integers("test.product", np.arange(len(CARTS)), 0, 40)


@pytest.mark.parametrize(
    "cart,product,n_carts",
    [
        ([], [], 3),  # no lines: every cart has none
        ([0], [5], 1),
        ([0, 0, 0, 2, 2], [7, 3, 7, 0, 0], 4),  # repeats within a cart; carts 1 and 3 empty
        ([0, 1, 1, 1], [0, 0, 0, 0], 2),  # product 0 only: no bits of product
        (CARTS, PRODUCTS, 5_003),
    ],
)
def test_distinct_products_count_merged_rows(cart, product, n_carts):
    lines = _lines(cart, product)
    merged = merge_by_product(lines, np.zeros(len(lines.cart), np.int64))
    got = distinct_products(lines, n_carts)
    assert got.dtype == np.int64
    assert np.array_equal(got, np.bincount(merged.cart, minlength=n_carts))


@pytest.fixture(scope="module")
def world() -> WorldPlan:
    raw = yaml.safe_load((REPO / "gen_config" / "template.yaml").read_text())
    raw["lookup_config"]["customers"]["num_customers"] = 5_000
    cfg = EcomConfig.model_validate(raw)
    return build_world(cfg, 3, day_number(dt.date(2024, 1, 1)), day_number(dt.date(2024, 3, 31)))


@pytest.mark.parametrize("carts", [slice(None), slice(0, 1), slice(0, 0)])
def test_items_are_the_lines_without_added_at(world, carts):
    plan, cust, rng = world.carts, world.customers, world.rng
    at = cust.local(plan.customer[carts])
    key, created, n_lines = plan.key[carts], plan.ts_us[carts], plan.n_lines[carts]
    channel, tier = cust.channel[at], cust.tier[at]
    model, catalog = world.line_model, world.catalog
    lines = draw_lines(model, catalog, rng, key, created, n_lines, channel, tier, world.end_day)
    items, line_key = draw_items(model, catalog, rng, key, n_lines, channel, tier)
    assert np.array_equal(line_key, key[lines.cart])
    assert items.added_us is None
    for name in ("cart", "line_no", "product", "quantity", "price_cents"):
        assert np.array_equal(getattr(items, name), getattr(lines, name)), name
    assert np.array_equal(cart_totals(items, len(key)), cart_sums(lines, len(key))[0])
