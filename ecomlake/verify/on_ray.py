"""Run verify's per-partition batches as Ray tasks on the Ray this process is connected to.

The caller (the api) starts a local Ray or joins a cluster; here a bounded number of tasks is in
flight, each wait has a time limit, and results come back in submission order, so the report
reads the same as a run in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from ecomlake.errors import EcomlakeError, StorageError

T = TypeVar("T")

TASKS_IN_FLIGHT_PER_CPU = 2
WAIT_SECONDS = 600.0  # no batch finished for this long: a worker or the storage is stuck


def map_batches(
    fn: Callable[..., T], calls: Sequence[tuple], wait_seconds: float = WAIT_SECONDS
) -> Iterator[T]:
    """`fn(*args)` for each of `calls` as a Ray task, yielded in the order of `calls`.

    Raises the task's own error (one line) if a task fails after Ray's retries, and a
    StorageError if no task finishes within `wait_seconds`; pending tasks are cancelled.
    """
    import ray

    remote = ray.remote(num_cpus=1, max_retries=3)(fn)  # read-only, so safe to rerun
    limit = max(1, int(ray.cluster_resources().get("CPU", 1)) * TASKS_IN_FLIGHT_PER_CPU)
    pending: dict = {}  # ref -> index of its call
    ready: dict[int, T] = {}
    submitted = emitted = 0
    try:
        while emitted < len(calls):
            while submitted < len(calls) and len(pending) < limit:
                pending[remote.remote(*calls[submitted])] = submitted
                submitted += 1
            done, _ = ray.wait(list(pending), num_returns=1, timeout=wait_seconds)
            if not done:
                raise StorageError(
                    f"verify on Ray: no batch of partitions finished within {wait_seconds:g} s "
                    f"({len(pending)} running, {len(calls) - emitted} not reported)"
                )
            for ref in done:
                ready[pending.pop(ref)] = _result(ray, ref)
            while emitted in ready:
                yield ready.pop(emitted)
                emitted += 1
    finally:
        # Failed, timed out, or the consumer stopped early. Force: a batch only reads, and a task
        # cancelled softly that finishes later crashes the driver in Ray 2.60 ("Tried to complete
        # task that was not pending"); so can a force-cancel that meets the task's own reply
        # ("Check failed: it != submissible_tasks_.end()"), hence only the unfinished ones.
        if pending:
            _, unfinished = ray.wait(list(pending), num_returns=len(pending), timeout=0)
            for ref in unfinished:
                ray.cancel(ref, force=True)


def _result(ray, ref) -> T:
    """The task's value; its failure as the tool's own error, in one line."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None) or exc
        if isinstance(cause, EcomlakeError):
            raise cause from None
        text = str(cause).strip().splitlines()
        raise StorageError(
            f"verify on Ray: a batch failed ({type(cause).__name__}: {text[-1] if text else ''})"
        ) from None
