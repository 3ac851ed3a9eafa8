"""Cart lines (plan/lines.py): the shortcuts the plan takes equal the full computations."""

from __future__ import annotations

import numpy as np
import pytest

from ecomlake.plan.lines import Lines, distinct_products, merge_by_product
from ecomlake.rng import Rng


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
