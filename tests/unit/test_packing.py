"""Packing dataclass trees of arrays into one object gives every tree back, exactly."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, fields

import numpy as np
import pytest

from ecomlake.plan.packing import pack


@dataclass
class Leafy:
    a: np.ndarray
    b: np.ndarray | None = None
    n: int = 0


@dataclass
class Tree:
    left: Leafy
    right: Leafy
    day: int
    grid: np.ndarray  # 2-D: kept per tree


def _tree(rng: np.random.Generator, i: int) -> Tree:
    size = int(rng.integers(0, 5))
    return Tree(
        left=Leafy(rng.integers(0, 9, size), None if i % 2 else np.arange(i, dtype=np.int32), i),
        right=Leafy(rng.random(size + 1), np.zeros(i, np.int8)),
        day=100 + i,
        grid=np.full((2, i), i),
    )


def _equal(x, y) -> None:
    assert type(x) is type(y)
    for f in fields(x):
        a, b = getattr(x, f.name), getattr(y, f.name)
        if isinstance(a, np.ndarray):
            assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b), f.name
        elif hasattr(a, "__dataclass_fields__"):
            _equal(a, b)
        else:
            assert a == b and type(a) is type(b), f.name


def test_every_tree_comes_back_equal_with_its_dtypes_and_nones():
    rng = np.random.default_rng(7)
    trees = [_tree(rng, i) for i in range(9)]
    packed = pickle.loads(pickle.dumps(pack(trees), protocol=5))
    assert len(packed) == 9
    for i, tree in enumerate(trees):
        _equal(packed.unpack(i), tree)


def test_arrays_of_one_dtype_are_concatenated_and_unpacked_as_views():
    trees = [Leafy(np.arange(i, dtype=np.int64), np.zeros(1), i) for i in range(4)]
    packed = pack(trees)
    assert len(packed.arrays) == 2  # `a` and `b`; `n` is kept per tree
    got = packed.unpack(3)
    assert np.shares_memory(got.a, next(iter(packed.arrays.values())))


def test_a_leaf_whose_dtype_differs_between_trees_keeps_each_tree_s_own():
    trees = [Leafy(np.zeros(0)), Leafy(np.arange(3, dtype=np.int64))]  # an empty float array
    packed = pack(trees)
    assert packed.unpack(0).a.dtype == np.float64
    assert packed.unpack(1).a.dtype == np.int64


def test_empty_and_bad_input():
    assert len(pack([])) == 0
    with pytest.raises(IndexError):
        pack([Leafy(np.zeros(1))]).unpack(1)
    with pytest.raises(TypeError, match="cannot pack a mix"):
        pack([Leafy(np.zeros(1)), Tree(Leafy(np.zeros(1)), Leafy(np.zeros(1)), 0, np.zeros(1))])
