"""Which executor a run gets: 'auto' keeps one-day runs off Ray, whose start-up outweighs a day."""

from __future__ import annotations

import pytest

from ecomlake.errors import ConfigError
from ecomlake.run.executors import (
    InProcessExecutor,
    RayExecutor,
    auto_waits_for_plan,
    choose_executor,
)
from ecomlake.run.sizing import WorkEstimate


@pytest.mark.parametrize(
    ("kind", "address", "days", "expected"),
    [
        ("auto", None, 1, InProcessExecutor),
        ("auto", None, 2, RayExecutor),
        ("auto", "auto", 1, RayExecutor),  # a cluster was asked for: use it
        ("ray", None, 1, RayExecutor),
        ("in-process", None, 30, InProcessExecutor),
    ],
)
def test_executor_choice(kind, address, days, expected):
    executor = choose_executor(kind, None, address, days)
    assert type(executor) is expected


def test_unknown_executor_names_the_choices():
    rule = "^GenerateOptions.executor: must be one of auto, ray, in-process, got 'threads'$"
    with pytest.raises(ConfigError, match=rule):
        choose_executor("threads", None, None, 3)


@pytest.mark.parametrize(
    ("kind", "address", "work", "expected"),
    [
        ("auto", None, WorkEstimate(10, 1_000), InProcessExecutor),  # < a local Ray's start
        ("auto", None, WorkEstimate(100_000, 10**9), RayExecutor),
        ("auto", "auto", WorkEstimate(10, 1_000), RayExecutor),  # a cluster: never overruled
        ("ray", None, WorkEstimate(10, 1_000), RayExecutor),
    ],
)
def test_auto_follows_the_planned_work(kind, address, work, expected):
    assert type(choose_executor(kind, 4, address, 30, work)) is expected


def test_auto_waits_for_the_plan_only_when_it_may_choose_in_process():
    assert auto_waits_for_plan("auto", None, 30, plans_quickly=True)
    assert not auto_waits_for_plan("auto", None, 30, plans_quickly=False)
    assert not auto_waits_for_plan("auto", None, 1, plans_quickly=True)  # in-process already
    assert not auto_waits_for_plan("auto", "auto", 30, plans_quickly=True)
    assert not auto_waits_for_plan("ray", None, 30, plans_quickly=True)


def test_start_warms_one_worker_per_slot_when_asked(ray_session):
    """On a running Ray, `start(warm=True)` submits a warm-up task per worker slot; each one
    finishes. Without `warm` (a plan of milliseconds), nothing is submitted."""
    import ray

    executor = RayExecutor(workers=2)
    executor.start()
    assert executor.warming == []
    executor.start(warm=True)
    assert len(executor.warming) == 2
    assert ray.get(executor.warming, timeout=120) == [None, None]
    executor.close()  # not started here: Ray stays up for the session
    assert ray.is_initialized()


def test_a_ray_started_by_the_run_is_not_warmed(ray_session, monkeypatch):
    """A local Ray that `start` launches comes up as the plan ends: no warm-up tasks for it."""
    executor = RayExecutor(workers=2)
    monkeypatch.setattr(RayExecutor, "starts_local_ray", lambda self: True)
    monkeypatch.setattr(RayExecutor, "_ensure_ray", lambda self, ray: None)  # the session's Ray
    executor.start(warm=True)
    assert executor.warming == []


def test_a_worker_fetches_a_plan_once_and_holds_one_plan(ray_session):
    """Day tasks get the plan's handles; a worker fetches the objects once and gives the same
    ones to its next days, and a new plan replaces the one it held (no second plan pinned)."""
    import numpy as np
    import ray

    from ecomlake.run import executors

    @ray.remote(num_cpus=1)
    def held(handles: list) -> tuple[int, int, list]:
        """In a worker: the ids of what `_held_plan` gives twice, and the values."""
        from ecomlake.run import executors

        first, again = executors._held_plan(handles), executors._held_plan(handles)
        return id(first), id(again), [value.tolist() for value in first]

    one = [ray.put(np.arange(3)), ray.put(np.arange(2))]
    first, again, values = ray.get(held.remote(one), timeout=120)
    assert first == again and values == [[0, 1, 2], [0, 1]]
    _, _, values = ray.get(held.remote([ray.put(np.arange(4))]), timeout=120)
    assert values == [[0, 1, 2, 3]]

    executors._held.clear()  # the same, in this process: the old plan is let go
    first = executors._held_plan(one)
    assert [v.tolist() for v in first] == [[0, 1, 2], [0, 1]]
    other = [ray.put(np.arange(5))]
    assert executors._held_plan(other)[0].tolist() == [0, 1, 2, 3, 4]
    assert list(executors._held) == [other[0].binary()]
    executors._held.clear()
