"""The plan cache returns the very plan `build_world` makes, or plans again; it never fails a run."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from ecomlake.config import load_config
from ecomlake.plan import cache
from ecomlake.plan.calendar import day_number
from ecomlake.plan.world import WorldPlan, build_world, world_arrays
from ecomlake.run.window import DayChoice

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick():
    cfg = load_config(REPO / "gen_config" / "quick.yaml")
    first, last, _ = DayChoice("t").world(cfg, None)
    return cfg, cfg.faker_seed, day_number(first), day_number(last)


@pytest.fixture(scope="module")
def planned(quick) -> WorldPlan:
    return build_world(*quick)


def _assert_same_world(a: WorldPlan, b: WorldPlan) -> None:
    """Every array of the two plans (entity plans and day indexes) equal, dtypes included."""
    left, right = world_arrays(a), world_arrays(b)
    assert left.keys() == right.keys()
    for name in left:
        assert left[name].dtype == right[name].dtype, name
        assert np.array_equal(left[name], right[name]), name
    for owner_a, owner_b in ((a, b), (a.catalog, b.catalog)):  # day indexes; rebuilt catalog
        for f in dataclasses.fields(owner_a):
            x, y = getattr(owner_a, f.name), getattr(owner_b, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), f.name
    assert a.config == b.config and a.seed == b.seed and a.days == b.days


def test_second_load_comes_from_the_cache_and_equals_the_plan(tmp_path, quick, planned):
    cold, hit = cache.load_or_build_world(*quick, tmp_path)
    assert not hit
    warm, hit = cache.load_or_build_world(*quick, tmp_path)
    assert hit
    _assert_same_world(cold, planned)
    _assert_same_world(warm, planned)
    assert len(list(tmp_path.glob("plan-*.npz"))) == 1


def test_no_cache_dir_plans_and_stores_nothing(tmp_path, quick, planned):
    world, hit = cache.load_or_build_world(*quick, None)
    assert not hit
    _assert_same_world(world, planned)


def test_an_install_without_plan_sources_never_caches(tmp_path, quick, planned, monkeypatch):
    """Without the source files the code cannot be part of the key: plan every time."""
    monkeypatch.setattr(cache, "_code_digest", lambda: None)
    for _ in range(2):
        world, hit = cache.load_or_build_world(*quick, tmp_path)
        assert not hit
        _assert_same_world(world, planned)
    assert not list(tmp_path.iterdir())


def test_key_follows_config_seed_window_and_code(quick, monkeypatch):
    cfg, seed, first, last = quick
    key = cache.plan_key(cfg, seed, first, last)
    assert key == cache.plan_key(load_config(REPO / "gen_config" / "quick.yaml"), seed, first, last)
    other_cfg = cfg.model_copy(update={"faker_seed": seed + 1})
    assert len({
        key,
        cache.plan_key(cfg, seed + 1, first, last),
        cache.plan_key(cfg, seed, first, last + 1),
        cache.plan_key(cfg, seed, first + 1, last),
        cache.plan_key(other_cfg, seed, first, last),
    }) == 5  # fmt: skip
    monkeypatch.setattr(cache, "_code_digest", lambda: "edited plan code")
    assert cache.plan_key(cfg, seed, first, last) != key


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty", "one_array"])
def test_damaged_plan_is_planned_again_and_replaced(tmp_path, quick, planned, damage, caplog):
    cache.load_or_build_world(*quick, tmp_path)
    (stored,) = tmp_path.glob("plan-*.npz")
    data = bytearray(stored.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF  # inside an array: only the zip CRC notices
    elif damage == "truncate":
        del data[len(data) // 3 :]
    elif damage == "empty":
        data = bytearray()
    elif damage == "one_array":  # np.save's format, not a stored plan
        with open(stored, "wb") as out:
            np.save(out, np.arange(3))
        data = bytearray(stored.read_bytes())
    else:
        data = bytearray(b"not a plan")
    stored.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="ecomlake.plan.cache"):
        world, hit = cache.load_or_build_world(*quick, tmp_path)
    assert not hit
    assert "planning again" in caplog.text and stored.name in caplog.text
    _assert_same_world(world, planned)
    again, hit = cache.load_or_build_world(*quick, tmp_path)
    assert hit  # the damaged file was replaced by a whole one
    _assert_same_world(again, planned)


def test_a_file_without_a_whole_plan_is_planned_again(tmp_path, quick, planned, caplog):
    """A readable .npz that lacks an array (written by something else) is no plan."""
    cache.load_or_build_world(*quick, tmp_path)
    (stored,) = tmp_path.glob("plan-*.npz")
    arrays = world_arrays(planned)
    del arrays["carts.ts_us"]
    with open(stored, "wb") as out:  # its shapes record agrees: only the missing key tells
        np.savez(out, **arrays, _shapes=np.array(cache._shapes(arrays)))
    with caplog.at_level(logging.WARNING, logger="ecomlake.plan.cache"):
        world, hit = cache.load_or_build_world(*quick, tmp_path)
    assert not hit and "does not hold a whole plan" in caplog.text
    _assert_same_world(world, planned)


def test_a_cut_array_in_a_whole_file_is_planned_again(tmp_path, quick, planned, caplog):
    """A valid zip whose carts array was cut passed, and a day then indexed past its end."""
    cache.load_or_build_world(*quick, tmp_path)
    (stored,) = tmp_path.glob("plan-*.npz")
    arrays = world_arrays(planned)
    shapes = cache._shapes(arrays)
    arrays["carts.customer"] = arrays["carts.customer"][:3]
    with open(stored, "wb") as out:
        np.savez(out, **arrays, _shapes=np.array(shapes))
    with caplog.at_level(logging.WARNING, logger="ecomlake.plan.cache"):
        world, hit = cache.load_or_build_world(*quick, tmp_path)
    assert not hit and "holds arrays of other shapes" in caplog.text
    _assert_same_world(world, planned)


def test_a_fifo_in_the_cache_is_passed_by_not_waited_on(tmp_path, quick, planned, caplog):
    """np.load of a FIFO nothing writes to blocked for ever."""
    path = cache.plan_path(tmp_path, *quick)
    os.mkfifo(path)

    def unblock() -> None:  # a reader stuck on the FIFO gets bytes: the test fails, not hangs
        with contextlib.suppress(OSError):  # ENXIO: nobody reads it, as it should be
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(5.0, unblock)
    timer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="ecomlake.plan.cache"):
            assert cache.cached_world(*quick, tmp_path) is None
    finally:
        timer.cancel()
    assert "is not a file" in caplog.text


def test_unwritable_cache_only_warns(tmp_path, quick, planned, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="ecomlake.plan.cache"):
        world, hit = cache.load_or_build_world(*quick, blocker / "plans")
    assert not hit and "could not store" in caplog.text
    _assert_same_world(world, planned)
    assert not list(tmp_path.rglob("*.tmp"))


def test_prune_keeps_the_most_recently_used(tmp_path):
    for i in range(cache.KEEP_PLANS + 2):
        plan = tmp_path / f"plan-{i}.npz"
        plan.write_bytes(b"x")
        os.utime(plan, (1000 + i, 1000 + i))
    os.utime(tmp_path / "plan-0.npz", (5000, 5000))  # used last, though written first
    other = tmp_path / "notes.txt"
    other.write_text("not ours")
    cache._prune(tmp_path, keep=cache.KEEP_PLANS)
    left = sorted(p.name for p in tmp_path.glob("plan-*.npz"))
    assert left == ["plan-0.npz", *(f"plan-{i}.npz" for i in range(3, cache.KEEP_PLANS + 2))]
    assert other.exists()


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "mine"))
    assert cache.default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "ecomlake" / "plans"
