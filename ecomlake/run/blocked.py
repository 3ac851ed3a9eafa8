"""A run whose world is planned in customer blocks (plan/blocks.py), in-process or as Ray tasks.

The driver sends three rounds of block tasks: the shopper cut (skipped when every customer
shops), the block plans, and the ranking of earlier orders. It keeps the per-day numbers and,
per block, the handle of its packed day pieces (a Ray object reference, or the pieces themselves
in-process); each day task unpacks its day's piece of every block and renders the world they
make (`BlockedWorld.day`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.errors import EcomlakeError, Interrupted, OptionError
from ecomlake.messiness import RunLevel
from ecomlake.plan.blocks import (
    BlockSummary,
    DayNumbers,
    customer_blocks,
    day_numbers,
    day_world,
    earlier_order_numbers,
    find_shopper_cut,
    orders_before,
    plan_block,
)
from ecomlake.plan.calendar import day_number
from ecomlake.plan.packing import Packed
from ecomlake.plan.world import WorldPlan
from ecomlake.run.days import assign_tasks, spread_backlog
from ecomlake.run.interrupt import StopRequest
from ecomlake.run.task import DayTask

log = logging.getLogger(__name__)

# A block of this many customers plans in about 4 s and 1 GB on one core (docs/performance.md).
BLOCK_CUSTOMERS = 1_000_000
# Worlds above this many customers are planned in blocks unless the run says otherwise: the
# one-piece plan grows about 0.35 GB per million customers and is built on one core.
BLOCKED_ABOVE = 4_000_000
BLOCK_TASK_TIMEOUT_SECONDS = 3600.0  # a round of block tasks; far above what one takes
STOP_POLL = 0.25  # seconds between looks at the stop request while blocks plan
_SHARED_ARG_BYTES = 100 * 1024  # Ray puts an argument this big into its object store anyway


def block_size(cfg: EcomConfig, block_customers: int | None, owner: str) -> int:
    """Customers per plan block for this run, 0 for a plan in one piece (see BLOCKED_ABOVE)."""
    if block_customers is None:
        big = cfg.lookup_config.customers.num_customers > BLOCKED_ABOVE
        return BLOCK_CUSTOMERS if big else 0
    if block_customers < 0:
        rule = f"{{block_customers}}: must be 0 (one piece) or more, got {block_customers}"
        raise OptionError(owner, rule, "block_customers")
    return block_customers


class BlockRunner(Protocol):
    """Where block tasks run: `map` returns each call's result; `plan` returns each block's
    summary and the handles of its other outputs (the order keys, then its packed pieces)."""

    def map(self, fn: Callable, calls: list[tuple]) -> list: ...

    def plan(self, calls: list[tuple]) -> list[tuple[BlockSummary, list]]: ...


class InProcessBlocks:
    """Block tasks one after another in this process (tests, small worlds)."""

    def map(self, fn: Callable, calls: list[tuple]) -> list:
        return [fn(*call) for call in calls]

    def plan(self, calls: list[tuple]) -> list[tuple[BlockSummary, list]]:
        results = [plan_block(*call) for call in calls]
        return [(result[0], list(result[1:])) for result in results]


class RayBlocks:
    """Block tasks on the Ray the run's executor started; outputs stay in the object store.

    Waits see the run's stop request, and each round has `timeout` seconds at most."""

    def __init__(
        self, stop: StopRequest | None = None, timeout: float = BLOCK_TASK_TIMEOUT_SECONDS
    ) -> None:
        self.stop = stop or StopRequest()
        self.timeout = timeout

    def map(self, fn: Callable, calls: list[tuple]) -> list:
        """`fn(*call)` for every call, as Ray tasks. An array that several calls share goes
        into the object store once, not once per call (the ranking round's keys: 10 MB)."""
        import ray

        remote = ray.remote(num_cpus=1, max_retries=3)(_call)
        shared: dict[int, object] = {}

        def arg(value: object) -> object:
            if not isinstance(value, np.ndarray) or value.nbytes < _SHARED_ARG_BYTES:
                return value
            if id(value) not in shared:
                shared[id(value)] = ray.put(value)
            return shared[id(value)]

        return self._get(ray, [remote.remote(fn, *map(arg, call)) for call in calls])

    def plan(self, calls: list[tuple]) -> list[tuple[BlockSummary, list]]:
        import ray

        remote = _remote_plan(ray)
        refs = [remote.remote(*call) for call in calls]
        summaries = self._get(ray, [r[0] for r in refs])
        return [(summary, list(r[1:])) for summary, r in zip(summaries, refs, strict=True)]

    def _get(self, ray, refs: list) -> list:
        """The refs' values; a stop request or the timeout cancels the round's tasks."""
        deadline = time.monotonic() + self.timeout
        waiting = list(refs)
        try:
            while waiting:
                if self.stop.is_set():
                    raise Interrupted(f"{self.stop.reason}: stopped while planning the blocks")
                if time.monotonic() > deadline:
                    raise EcomlakeError(f"a round of block tasks took over {self.timeout:.0f} s")
                _, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=STOP_POLL)
        except BaseException:
            for ref in waiting:
                ray.cancel(ref, force=True)
            raise
        return ray.get(refs, timeout=self.timeout)


class RayBlocksWhileStarting(RayBlocks):
    """`RayBlocks` for a run whose local Ray is still starting (4-7 s here, most of it waiting):
    until `ray_ready` is called, the blocks are planned in this process, one at a time; then
    the rest of the round goes to Ray at once, and the plans made here are put into its object
    store. A block's outputs do not depend on where it was planned.

    The round runs on a thread of its own, since Ray must start on the main thread; `abandon`
    (Ray failed to start) makes it stop after the block in hand."""

    def __init__(
        self, stop: StopRequest | None = None, timeout: float = BLOCK_TASK_TIMEOUT_SECONDS
    ) -> None:
        super().__init__(stop, timeout)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._abandoned = threading.Event()
        self._round: _EarlyRound | None = None
        self.planned_here = 0  # blocks planned in this process while Ray started

    def ray_ready(self) -> None:
        """Ray is up (called by the thread that started it): it takes the round's unclaimed
        blocks now, not once the block in hand here is done."""
        with self._lock:
            self._ready.set()
            if self._round is not None:
                self._round.submit_rest()

    def abandon(self) -> None:
        """Ray will not come up: the round stops after the block in hand."""
        self._abandoned.set()
        self._ready.set()

    def map(self, fn: Callable, calls: list[tuple]) -> list:
        done: list = []
        while len(done) < len(calls) and not self._ready.is_set():
            self._check()
            done.append(fn(*calls[len(done)]))
        rest = calls[len(done) :]
        if rest:
            self._check()
        return done + (super().map(fn, rest) if rest else [])

    def plan(self, calls: list[tuple]) -> list[tuple[BlockSummary, list]]:
        with self._lock:
            if self._ready.is_set():
                self._check()
                return super().plan(calls)
            early = self._round = _EarlyRound(calls)
        while (index := early.claim(self._lock)) is not None:
            self._check()
            early.planned[index] = plan_block(*calls[index])
            self.planned_here += 1
        self._wait_ready()
        with self._lock:
            early.submit_rest()
            self._round = None
        return early.results(self)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self._ready.wait(STOP_POLL):
            self._check()
            if time.monotonic() > deadline:
                raise EcomlakeError(f"Ray did not start within {self.timeout:.0f} s")
        self._check()

    def _check(self) -> None:
        if self._abandoned.is_set():
            raise EcomlakeError("the block plan was abandoned: Ray did not start")
        if self.stop.is_set():
            raise Interrupted(f"{self.stop.reason}: stopped while planning the blocks")


class _EarlyRound:
    """One round of block plans split between this process (claimed one at a time while Ray
    starts) and Ray (every block unclaimed when it is up). `claim` and `submit_rest` run under
    the runner's lock, so a block is either claimed here or submitted, never both."""

    def __init__(self, calls: list[tuple]) -> None:
        self.calls = calls
        self.planned: dict[int, tuple] = {}
        self.remote: dict[int, list] = {}  # call index -> its refs (summary, then handles)
        self._next = 0
        self._submitted = False

    def claim(self, lock: threading.Lock) -> int | None:
        with lock:
            if self._submitted or self._next >= len(self.calls):
                return None
            self._next += 1
            return self._next - 1

    def submit_rest(self) -> None:
        if self._submitted:
            return
        self._submitted = True
        rest = range(self._next, len(self.calls))
        if not rest:
            return
        import ray

        remote = _remote_plan(ray)
        for index in rest:
            self.remote[index] = remote.remote(*self.calls[index])

    def results(self, runner: RayBlocks) -> list[tuple[BlockSummary, list]]:
        """Every block's summary and handles, in call order; the ones planned here put."""
        import ray

        order = sorted(self.remote)
        summaries = runner._get(ray, [self.remote[i][0] for i in order])
        by_index: dict[int, tuple[BlockSummary, list]] = {
            i: (summary, list(self.remote[i][1:]))
            for i, summary in zip(order, summaries, strict=True)
        }
        for index, (summary, *outputs) in self.planned.items():
            by_index[index] = (summary, [ray.put(output) for output in outputs])
        return [by_index[i] for i in range(len(self.calls))]


def _call(fn: Callable, *args):
    return fn(*args)


def _remote_plan(ray):
    """`plan_block` as a Ray task returning its summary, order keys and pieces apart."""
    return ray.remote(num_cpus=1, max_retries=3, num_returns=3)(plan_block)


@dataclass
class BlockedWorld:
    """What the day tasks of a blocked run need: the numbers each day starts from, the handles
    of every block's packed pieces, which piece of them is each day's, and per day the numbers
    of the earlier orders its pieces refer to."""

    config: EcomConfig
    seed: int
    start_day: int
    end_day: int
    tasks: list[DayTask]
    numbers: dict[int, DayNumbers]
    blocks: list  # per block: its packed pieces, or their handle in Ray's object store
    piece: dict[int, int]  # day -> its piece in every block's packed pieces
    earlier: dict[int, list[np.ndarray]]
    carts: int  # carts in the whole world

    def day(self, day: int) -> WorldPlan:
        """The world of the day task of `day`, with every block's pieces fetched."""
        return self.assemble(day, self.earlier[day], _fetch(self.blocks))

    def assemble(
        self, day: int, earlier: Sequence[np.ndarray], blocks: Sequence[Packed]
    ) -> WorldPlan:
        """The world of the day task of `day` from every block's packed pieces and the numbers
        of the earlier orders its pieces refer to."""
        pieces = [packed.unpack(self.piece[day]) for packed in blocks]
        return day_world(
            self.config, self.seed, self.start_day, self.end_day, self.numbers[day], pieces, earlier
        )

    def shared(self) -> BlockedWorld:
        """What every day task shares: all but the blocks' handles and each day's earlier
        numbers. A Ray day task gets its own as arguments: a handle inside a shared object makes
        every task that unpickles it a borrower of that handle, which cost more than rendering
        the day itself when every day's piece was an object of its own."""
        return replace(self, blocks=[], earlier={})


def lookback_days(level: RunLevel) -> int:
    """Days before its own that a day task renders: late rows of those days land on it."""
    rates = level.rates
    return rates.late_max_days if rates is not None and rates.late_arrival > 0 else 0


def world_of(world: WorldPlan | BlockedWorld, day: int) -> WorldPlan:
    """The plan a day task renders: the world itself, or its day of a blocked world."""
    return world.day(day) if isinstance(world, BlockedWorld) else world


def _fetch(handles: list) -> list:
    """The packed pieces behind the handles (fetched from Ray's object store when they are
    refs)."""
    if handles and not isinstance(handles[0], Packed):
        import ray

        return ray.get(handles, timeout=BLOCK_TASK_TIMEOUT_SECONDS)
    return handles


def plan_blocked(
    cfg: EcomConfig,
    seed: int,
    start: dt.date,
    end: dt.date,
    run_days: Sequence[dt.date],
    runner: BlockRunner,
    block_customers: int = BLOCK_CUSTOMERS,
    lookback: int = 0,
) -> BlockedWorld:
    """Plan the world in blocks for the days `run_days` (sorted, inside start..end); each day
    task also gets the `lookback` days before its day (see `lookback_days`)."""
    first, last = day_number(start), day_number(end)
    blocks = customer_blocks(cfg.lookup_config.customers.num_customers, block_customers)
    cut = find_shopper_cut(cfg, seed, blocks, runner.map)
    # Ownership of customer partitions is dealt over every day a customer could sign up on;
    # the days nobody signed up on are dropped once the blocks have told.
    signup_start = last - 365 * cfg.parameters.signup_years
    candidates = np.arange(min(signup_start, first), last + 1)
    dealt = spread_backlog(assign_tasks(run_days, candidates))
    task_days = tuple((t.day, tuple(t.signup_days)) for t in dealt)
    calls = [(cfg, seed, first, last, block, cut, task_days, lookback) for block in blocks]
    planned = runner.plan(calls)
    summaries = [summary for summary, _ in planned]

    before = orders_before(summaries, [handles[0] for _, handles in planned], runner.map)
    earlier = earlier_order_numbers(summaries, before)
    days = [t.day for t in dealt]
    window_start = [max(first, day - lookback) for day in days]
    numbers = day_numbers(summaries, first, window_start)
    signups = set(np.unique(np.concatenate([s.signup_days for s in summaries])).tolist())
    tasks = [replace(t, signup_days=tuple(d for d in t.signup_days if d in signups)) for t in dealt]
    return BlockedWorld(
        config=cfg,
        seed=seed,
        start_day=first,
        end_day=last,
        tasks=tasks,
        numbers={day: numbers[w] for day, w in zip(days, window_start, strict=True)},
        blocks=[handles[1] for _, handles in planned],
        piece={day: i for i, day in enumerate(days)},
        earlier={day: [per_day[i] for per_day in earlier] for i, day in enumerate(days)},
        carts=int(sum(s.counts["carts"].sum() for s in summaries)),
    )
