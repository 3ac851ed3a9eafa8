"""Planning in customer blocks (plan/blocks.py, run/blocked.py) gives the one-piece plan's rows.

The lake-level proofs (in-process and on Ray) are in tests/integration/test_determinism.py.
"""

from __future__ import annotations

import datetime as dt
import io
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from ecomlake.cli.flags import flag
from ecomlake.config import load_config
from ecomlake.config.load import load_config_text
from ecomlake.errors import OptionError
from ecomlake.messiness.day import render_tables
from ecomlake.plan.blocks import (
    BlockSummary,
    OrderKeys,
    customer_blocks,
    find_shopper_cut,
    orders_before,
)
from ecomlake.plan.calendar import day_number
from ecomlake.plan.carts import time_order
from ecomlake.plan.customers import is_shopper, world_shoppers
from ecomlake.plan.world import build_world
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TABLES
from ecomlake.rng import Rng
from ecomlake.run.blocked import (
    BLOCK_CUSTOMERS,
    InProcessBlocks,
    RayBlocks,
    block_size,
    lookback_days,
    plan_blocked,
)
from ecomlake.run.days import assign_tasks, spread_backlog
from ecomlake.run.prepare import level_for

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"


def _with_shoppers(generate: int):
    data = yaml.safe_load(QUICK.read_text(encoding="utf-8"))
    for table in data["tables"]:
        if table["name"] == "shopping_carts":
            table["generate"] = generate
    return load_config_text(yaml.safe_dump(data), source=f"quick, generate {generate}")


def _partitions(world, task, level: str) -> dict:
    ctx = DayContext(world, task.day, task.signup_days, task.owns_catalog)
    return {
        (table.spec.name, part.value): part.rows
        for table in render_tables(ctx, list(TABLES), level)
        for part in table.parts
    }


def _compare(
    cfg, run_days: list[dt.date], level: str, block: int, plan: Callable | None = None
) -> int:
    """Render every partition of `run_days` both ways; the number of partitions compared.
    `plan` plans the blocks (`plan_blocked`'s arguments after the runner): in-process unless
    it is given."""
    start, end = cfg.parameters.pinned_window()
    seed = cfg.faker_seed
    world = build_world(cfg, seed, day_number(start), day_number(end))
    lookback = lookback_days(level_for("", cfg, level))
    arguments = (cfg, seed, start, end, run_days)
    if plan is None:
        blocked = plan_blocked(*arguments, InProcessBlocks(), block, lookback)
    else:
        blocked = plan(*arguments, block, lookback)
    one_piece = spread_backlog(assign_tasks(run_days, world.signup_days()))
    whole, pieces = {}, {}
    for one, task in zip(one_piece, blocked.tasks, strict=True):
        whole.update(_partitions(world, one, level))
        pieces.update(_partitions(blocked.day(task.day), task, level))
    assert set(pieces) == set(whole)
    for key, rows in whole.items():
        assert pieces[key].equals(rows), key
    return len(whole)


def _days(first: str, last: str, step: int) -> list[dt.date]:
    lo, hi = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [lo + dt.timedelta(days=i) for i in range(0, (hi - lo).days + 1, step)]


def test_blocks_render_the_one_piece_rows():
    """Every 9th day of the quick world from a mid-window start, blocks of 333 customers:
    customers signed up before the run, returns of orders from before it, shoppers cut."""
    assert _compare(load_config(QUICK), _days("2024-01-20", "2024-03-31", 9), "none", 333) > 50


@pytest.mark.slow
def test_blocks_render_the_one_piece_rows_every_day_messy():
    """Every day at heavy_mess (late rows come from the days before each task's own), in
    blocks of 97 customers (21 blocks)."""
    assert _compare(load_config(QUICK), _days("2024-01-01", "2024-03-31", 1), "heavy_mess", 97)


@pytest.mark.parametrize("generate", [0, 1, 7, 1000, 1999, 2000, 5000])
def test_shopper_cut_from_blocks_picks_the_world_shoppers(generate):
    cfg = _with_shoppers(generate)
    n = cfg.lookup_config.customers.num_customers
    blocks = customer_blocks(n, 300)
    cut = find_shopper_cut(cfg, 11, blocks, InProcessBlocks().map)
    chosen = np.concatenate([is_shopper(Rng(11), np.arange(lo, hi), cut) for lo, hi in blocks])
    assert chosen.sum() == min(generate, n)
    assert np.array_equal(chosen, world_shoppers(cfg, Rng(11)))


def test_blocks_of_a_world_with_few_shoppers():
    """generate 7: almost nobody shops, many blocks have no carts at all."""
    assert _compare(_with_shoppers(7), _days("2024-01-01", "2024-03-31", 5), "none", 150) > 0


def test_customer_blocks_cover_every_customer_once():
    assert customer_blocks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert customer_blocks(8, 4) == [(0, 4), (4, 8)]
    with pytest.raises(ValueError, match="at least 1"):
        customer_blocks(10, 0)


def test_time_order_breaks_ties_by_key_whatever_the_input_order():
    ts = np.array([5, 3, 5, 3, 1, 5], dtype=np.int64)
    key = np.array([9, 8, 2, 1, 7, 4], dtype=np.int64)
    order = time_order(ts, key)
    assert list(zip(ts[order], key[order], strict=True)) == [
        (1, 7), (3, 1), (3, 8), (5, 2), (5, 4), (5, 9)
    ]  # fmt: skip
    shuffled = np.array([3, 0, 5, 1, 4, 2])
    again = shuffled[time_order(ts[shuffled], key[shuffled])]
    assert list(again) == list(order)


def test_order_keys_count_earlier_orders_with_equal_timestamps():
    keys = OrderKeys(np.array([10, 20, 20, 20, 30]), np.array([5, 1, 4, 9, 2]))
    counts = keys.count_before(np.array([5, 20, 20, 20, 40]), np.array([0, 0, 4, 10, 0]))
    assert list(counts) == [0, 1, 2, 4, 5]


def test_orders_before_counts_every_block_in_time_then_key_order():
    """Against a count over every pair, with many equal timestamps; the keys are ranked in time
    order, and the counts must come back in the blocks' own order."""
    rng = np.random.default_rng(7)
    blocks = []
    for _ in range(3):
        ts, key = rng.integers(0, 40, 200), rng.integers(0, 1000, 200)
        order = np.lexsort((key, ts))
        blocks.append(OrderKeys(ts[order], key[order]))
    summaries = [
        BlockSummary(None, {}, np.zeros(0), 0, [(rng.integers(0, 45, n), rng.integers(0, 1000, n))])
        for n in (50, 0, 75)
    ]
    queries = [pair for s in summaries for pair in s.earlier_orders]
    ts = np.concatenate([t for t, _ in queries])
    key = np.concatenate([k for _, k in queries])
    got = orders_before(summaries, blocks, InProcessBlocks().map)
    every_ts = np.concatenate([b.ts_us for b in blocks])
    every_key = np.concatenate([b.key for b in blocks])
    earlier = (every_ts[None, :] < ts[:, None]) | (
        (every_ts[None, :] == ts[:, None]) & (every_key[None, :] < key[:, None])
    )
    assert got.dtype == np.int64
    assert list(got) == list(earlier.sum(axis=1))


@pytest.mark.ray
def test_ray_block_map_gives_a_shared_array_to_every_call(ray_session, monkeypatch):
    """An array several calls share is put once and reaches each task as the array itself."""
    import ray

    puts: list = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda value: puts.append(value) or real_put(value))
    big = np.arange(100_000, dtype=np.int64)
    small = np.arange(3)
    got = RayBlocks().map(np.dot, [(big, big), (big, big), (small, small)])
    assert got == [int(big @ big), int(big @ big), 5]
    assert len(puts) == 1 and puts[0] is big  # the small one goes inline


def test_block_size_default_and_bad_value():
    small = load_config(QUICK)
    assert block_size(small, None, "GenerateOptions") == 0
    assert block_size(small, 500, "GenerateOptions") == 500
    data = yaml.safe_load(QUICK.read_text(encoding="utf-8"))
    data["lookup_config"]["customers"]["num_customers"] = 5_000_000
    big = load_config_text(yaml.safe_dump(data), source="big")
    assert block_size(big, None, "GenerateOptions") == BLOCK_CUSTOMERS
    assert block_size(big, 0, "GenerateOptions") == 0
    with pytest.raises(OptionError) as caught:
        block_size(small, -1, "GenerateOptions")
    assert caught.value.render(flag).startswith("--block-customers: must be 0")
    assert str(caught.value).startswith("GenerateOptions.block_customers: must be 0")


@pytest.mark.ray
def test_block_rounds_stop_on_request_and_on_timeout(ray_session):
    """A stop request (Ctrl-C) or the round's time limit ends the wait on block tasks at once,
    and the tasks are cancelled: planning never hangs on a stuck block."""
    import time

    from ecomlake.errors import EcomlakeError, Interrupted
    from ecomlake.run.blocked import RayBlocks
    from ecomlake.run.interrupt import StopRequest

    stop = StopRequest()
    stop.request("SIGINT")
    t0 = time.monotonic()
    with pytest.raises(Interrupted, match="SIGINT: stopped while planning the blocks"):
        RayBlocks(stop).map(time.sleep, [(60,)])
    with pytest.raises(EcomlakeError, match="took over 1 s"):
        RayBlocks(timeout=1.0).map(time.sleep, [(60,), (60,)])
    assert time.monotonic() - t0 < 20


def _plan_while_ray_starts(runner, ready_after: int) -> Callable:
    """`plan_blocked` on a thread with `runner`, told that Ray is up once `ready_after` blocks
    were planned in this process (Ray is already up: the session's)."""

    def plan(*arguments):
        with ThreadPoolExecutor(max_workers=1) as pool:
            planned = pool.submit(plan_blocked, *arguments[:5], runner, *arguments[5:])
            deadline = time.monotonic() + 120
            while runner.planned_here < ready_after and not planned.done():
                assert time.monotonic() < deadline, "no block was planned in-process"
                time.sleep(0.005)
            runner.ray_ready()
            return planned.result(timeout=300)

    return plan


@pytest.mark.ray
def test_blocks_planned_here_while_ray_starts_render_the_one_piece_rows(ray_session):
    """Three blocks planned in this process before Ray is 'up', the other 18 on Ray, their
    pieces put into the object store: the rows of the one-piece plan."""
    from ecomlake.run.blocked import RayBlocksWhileStarting

    runner = RayBlocksWhileStarting()
    plan = _plan_while_ray_starts(runner, ready_after=3)
    assert _compare(load_config(QUICK), _days("2024-01-20", "2024-03-31", 9), "none", 97, plan)
    assert 3 <= runner.planned_here < 21


@pytest.mark.ray
def test_block_plan_while_ray_starts_stops_when_abandoned_or_asked(ray_session):
    """Ray failing to start (abandon) or a stop request ends the in-process planning after the
    block in hand, with an error that says which."""
    from ecomlake.errors import EcomlakeError, Interrupted
    from ecomlake.run.blocked import RayBlocksWhileStarting
    from ecomlake.run.interrupt import StopRequest

    cfg = load_config(QUICK)
    start, end = cfg.parameters.pinned_window()
    arguments = (cfg, cfg.faker_seed, start, end, _days("2024-01-20", "2024-02-20", 7))
    runner = RayBlocksWhileStarting()
    with ThreadPoolExecutor(max_workers=1) as pool:
        planned = pool.submit(plan_blocked, *arguments, runner, 97, 0)
        while runner.planned_here < 1:
            time.sleep(0.005)
        runner.abandon()
        with pytest.raises(EcomlakeError, match="abandoned: Ray did not start"):
            planned.result(timeout=60)
    assert runner.planned_here < 21
    stop = StopRequest()
    stop.request("SIGINT")
    with pytest.raises(Interrupted, match="SIGINT: stopped while planning the blocks"):
        plan_blocked(*arguments, RayBlocksWhileStarting(stop), 97, 0)


class _RefFinder(pickle.Pickler):
    """Pickles to nowhere, listing every Ray object handle met on the way."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO())
        self.refs: list = []

    def persistent_id(self, obj):
        import ray

        if isinstance(obj, ray.ObjectRef):
            self.refs.append(obj)
            return len(self.refs)
        return None


@pytest.mark.ray
def test_blocked_day_tasks_share_no_handles_and_get_their_own_pieces(ray_session):
    """A block's day pieces are one object; what every Ray day task unpickles holds no handle
    (each one makes every task a borrower of it); the blocks' pieces, passed to a task, give
    the rows of `BlockedWorld.day`."""
    import ray

    from ecomlake.run.blocked import RayBlocks

    cfg = load_config(QUICK)
    start, end = cfg.parameters.pinned_window()
    world = plan_blocked(cfg, cfg.faker_seed, start, end, _days("2024-02-01", "2024-02-20", 6),
                         RayBlocks(), 250)  # fmt: skip
    finder = _RefFinder()
    finder.dump(world)
    assert len(finder.refs) == len(world.blocks) == 8  # one object per block of 250 customers
    shared, finder = world.shared(), _RefFinder()
    finder.dump(shared)
    assert finder.refs == []
    blocks = ray.get(world.blocks, timeout=60)
    assert {len(packed) for packed in blocks} == {len(world.tasks)}
    for task in world.tasks:
        assembled = shared.assemble(task.day, world.earlier[task.day], blocks)
        expected = _partitions(world.day(task.day), task, "none")
        got = _partitions(assembled, task, "none")
        assert set(got) == set(expected)
        assert all(got[key].equals(rows) for key, rows in expected.items())
