"""The driver's dispatch: days the driver rendered while Ray started come first, Ray gets only
the rest, and the executor is closed however the run ends."""

from __future__ import annotations

from types import SimpleNamespace

from ecomlake.run.driver import _dispatch, _Head
from ecomlake.run.executors import RunProgress
from ecomlake.run.task import DayResult, DayTask


class _Executor:
    """Records what the driver asks of it; renders nothing."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.closed = 0

    def map_days(self, world, tasks, settings, stop):
        for task in tasks:
            self.asked.append(task.day)
            yield DayResult(str(task.day), {}, 0, 0, 0.0, 0.0, node_id="ray-node")

    def close(self) -> None:
        self.closed += 1


def _run(early_days: int, total: int = 4) -> tuple[_Executor, list[DayResult], list]:
    executor = _Executor()
    run = SimpleNamespace(
        executor=executor, settings=None, hooks=[], loc=None, stop=None, tables=None
    )
    tasks = [DayTask(day) for day in range(total)]
    early = [DayResult(str(d), {}, 0, 0, 0.0, 0.0) for d in range(early_days)]
    seen: list = []
    results: list = []
    failures: list = []
    _dispatch(
        run,
        _Head(None, 0.0, False, tasks, early),
        RunProgress(day_done=lambda o, n: seen.append((o.node_id, n))),
        results,
        failures,
    )
    assert not failures
    return executor, results, seen


def test_ray_gets_only_the_days_the_driver_did_not_do():
    executor, results, seen = _run(early_days=1)
    assert executor.asked == [1, 2, 3]
    assert [r.node_id for r in results] == ["local", "ray-node", "ray-node", "ray-node"]
    assert seen == [("local", 4), ("ray-node", 4), ("ray-node", 4), ("ray-node", 4)]
    assert executor.closed == 1


def test_a_ray_that_got_no_day_is_still_closed():
    executor, results, _ = _run(early_days=4)
    assert executor.asked == [] and len(results) == 4
    assert executor.closed == 1
