"""Executors: one `map_days` interface, in-process or on Ray (local or a cluster).

The Ray executor puts the plan in the object store once, keeps a bounded number of tasks in
flight with `ray.wait`, and hands results back in completion order.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ecomlake.errors import ConfigError
from ecomlake.plan.calendar import day_date
from ecomlake.plan.world import WorldPlan
from ecomlake.run.task import DayResult, DayTask, WriteSettings, run_day

log = logging.getLogger(__name__)

TASKS_IN_FLIGHT_PER_WORKER = 2


@dataclass
class DayFailure:
    """A day that did not commit, with the reason in one line."""

    day: str
    error: str


Outcome = DayResult | DayFailure


class InProcessExecutor:
    """Runs days one after another in this process (tests, tiny runs)."""

    name = "in-process"

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to stop."""

    def map_days(
        self, world: WorldPlan, tasks: Iterable[DayTask], settings: WriteSettings
    ) -> Iterator[Outcome]:
        for task in tasks:
            try:
                yield run_day(world, task, settings)
            except Exception as exc:  # reported per day; the run exits non-zero
                yield DayFailure(_day_text(task), f"{type(exc).__name__}: {exc}")


class RayExecutor:
    """Runs each day as a Ray task on a local instance (default) or an existing cluster."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.workers = workers  # None: every CPU of the local machine or of the cluster
        self.address = address
        self._started_here = False  # shut Ray down at the end only if this executor started it

    def map_days(
        self, world: WorldPlan, tasks: Iterable[DayTask], settings: WriteSettings
    ) -> Iterator[Outcome]:
        import ray

        queue = list(tasks)
        if not queue:  # the driver did every day while Ray started
            return
        self._ensure_ray(ray)
        pending: dict = {}
        try:
            remote_day = ray.remote(num_cpus=1, max_retries=3)(_run_day_on_node)
            world_ref = ray.put(world)
            limit = max(1, self._worker_count(ray) * TASKS_IN_FLIGHT_PER_WORKER)
            queue.reverse()
            while queue or pending:
                while queue and len(pending) < limit:
                    task = queue.pop()
                    pending[remote_day.remote(world_ref, task, settings)] = task
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:
                        outcome = DayFailure(_day_text(task), _one_line(exc))
                    yield outcome
        finally:
            for ref in pending:  # the consumer stopped early (e.g. a hook failed)
                ray.cancel(ref)
            if self._started_here:
                ray.shutdown()
                self._started_here = False

    def starts_local_ray(self) -> bool:
        """Whether `start` would launch a local Ray (seconds), not join a running one."""
        import ray

        return not self.address and not ray.is_initialized()

    def start(self) -> None:
        """Start local Ray or connect to the cluster now (the driver does it while it plans)."""
        import ray

        self._ensure_ray(ray)

    def close(self) -> None:
        """Stop the Ray this executor started (a run that fails before dispatching)."""
        import ray

        if self._started_here:
            ray.shutdown()
            self._started_here = False

    def _worker_count(self, ray) -> int:
        if self.workers:
            return self.workers
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def alive_nodes(self) -> int:
        """Number of alive nodes of the cluster (connects if needed; stays connected)."""
        import ray

        self._ensure_ray(ray)
        return sum(1 for node in ray.nodes() if node.get("Alive"))

    def _ensure_ray(self, ray) -> None:
        """Start local Ray (or connect to a cluster) unless this process already did."""
        if ray.is_initialized():
            return
        if self.address:
            probe_address(self.address)
            try:
                ray.init(address=self.address, log_to_driver=False)
            except Exception as exc:
                raise ConfigError(
                    f"--ray-address: cannot connect to {self.address!r}: {_one_line(exc)}"
                ) from None
        else:
            ray.init(
                address="local",
                num_cpus=self.workers or os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=False,
            )
        self._started_here = True


def probe_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an address nothing listens on (ray.init would retry for minutes)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"--ray-address: expected host:port, ray://host:port or auto, got {address!r}"
        )
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(
            f"--ray-address: nothing answers at {address} ({exc.strerror or exc})"
        ) from None


def _run_day_on_node(world: WorldPlan, task: DayTask, settings: WriteSettings) -> DayResult:
    import ray

    result = run_day(world, task, settings)
    result.node_id = ray.get_runtime_context().get_node_id()
    return result


def _day_text(task: DayTask) -> str:
    return day_date(task.day).isoformat()


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"


EXECUTORS = ("auto", "ray", "in-process")


def make_executor(
    kind: str, workers: int | None, address: str | None, days: int
) -> InProcessExecutor | RayExecutor:
    """The executor named by `kind`; a dead `address` fails here, even in a process that already
    runs Ray. 'auto' runs a one-day run in-process (a day is one task, on one core either way,
    and Ray's start-up costs more than the day) and everything else on Ray."""
    if kind not in EXECUTORS:
        raise ConfigError(f"--executor: must be one of {', '.join(EXECUTORS)}, got {kind!r}")
    if kind == "in-process" or (kind == "auto" and days == 1 and not address):
        return InProcessExecutor()
    if address:
        probe_address(address)
    return RayExecutor(workers, address)
