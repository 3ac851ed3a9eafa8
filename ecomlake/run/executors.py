"""Executors: one `map_days` interface, in-process or on Ray (local or a cluster).

The Ray executor puts the plan in the object store once, keeps a bounded number of tasks in
flight with `ray.wait`, and hands results back in completion order. On a stop request it
submits nothing more, waits a bounded time for the days in flight, then cancels its own tasks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ecomlake.errors import OptionError
from ecomlake.plan.calendar import day_date
from ecomlake.plan.world import WorldPlan
from ecomlake.render.contacts import build_vocabularies
from ecomlake.run.blocked import BlockedWorld, world_of
from ecomlake.run.interrupt import StopRequest
from ecomlake.run.sizing import WorkEstimate
from ecomlake.run.task import DayResult, DayTask, WriteSettings, run_day

log = logging.getLogger(__name__)

TASKS_IN_FLIGHT_PER_WORKER = 2
STOP_POLL_SECONDS = 0.25  # how often the dispatch loop looks at the stop request
IN_FLIGHT_GRACE_SECONDS = 5.0  # after a stop, days in flight get this long to commit
CANCEL_WAIT_SECONDS = 3.0  # then cancelled tasks get this long to be gone before the lock goes
GRPC_READY_SECONDS = 10.0  # a --ray-address must complete a gRPC handshake within this
PLAN_FETCH_TIMEOUT_SECONDS = 900.0  # a worker's one fetch of the plan, across nodes on a cluster


@dataclass
class DayFailure:
    """A day that did not commit, with the reason in one line."""

    day: str
    error: str


Outcome = DayResult | DayFailure


@dataclass(frozen=True)
class RunProgress:
    """What a caller (the CLI's progress bar) hears during a run or a repair."""

    planned: Callable[[int], None] | None = None  # the number of tasks, once known
    day_done: Callable[[Outcome, int], None] | None = None  # each outcome, and the task count

    def tasks_planned(self, count: int) -> None:
        if self.planned is not None:
            self.planned(count)

    def outcome(self, outcome: Outcome, count: int) -> None:
        if self.day_done is not None:
            self.day_done(outcome, count)


class Executor(Protocol):
    """Where a run's days are rendered and committed; `choose_executor` picks one."""

    name: str

    def start(self, warm: bool = False) -> None:
        """Get ready (a local Ray starts here; the driver plans meanwhile); `warm`: the plan
        takes seconds, so workers that are already up may warm up meanwhile."""

    def close(self) -> None:
        """Release what `start` took; safe to call twice."""

    def starts_local_ray(self) -> bool:
        """Whether `start` takes seconds (a local Ray), worth rendering days during."""

    def map_days(
        self,
        world: WorldPlan | BlockedWorld,
        tasks: Iterable[DayTask],
        settings: WriteSettings,
        stop: StopRequest | None = None,
    ) -> Iterator[Outcome]:
        """The outcome of every task, in completion order, until `stop` is set."""


class InProcessExecutor:
    """Runs days one after another in this process (tests, tiny runs)."""

    name = "in-process"

    def start(self, warm: bool = False) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to stop."""

    def starts_local_ray(self) -> bool:
        return False

    def map_days(
        self,
        world: WorldPlan | BlockedWorld,
        tasks: Iterable[DayTask],
        settings: WriteSettings,
        stop: StopRequest | None = None,
    ) -> Iterator[Outcome]:
        """Each day in turn; after a stop request the day in progress finishes, no other starts."""
        for task in tasks:
            if stop is not None and stop.is_set():
                return
            try:
                yield run_day(world_of(world, task.day), task, settings)
            except Exception as exc:  # reported per day; the run exits non-zero
                yield DayFailure(_day_text(task), f"{type(exc).__name__}: {exc}")


class RayExecutor:
    """Runs each day as a Ray task on a local instance (default) or an existing cluster."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.workers = workers  # None: every CPU of the local machine or of the cluster
        self.address = address
        self._started_here = False  # shut Ray down at the end only if this executor started it
        self.warming: list = []  # the warm-up tasks `start` submitted (kept for tests)

    def map_days(
        self,
        world: WorldPlan | BlockedWorld,
        tasks: Iterable[DayTask],
        settings: WriteSettings,
        stop: StopRequest | None = None,
    ) -> Iterator[Outcome]:
        """Days as Ray tasks, at most `limit` in flight; a stop request winds them down."""
        import ray

        queue = list(tasks)
        stop = stop or StopRequest()
        if not queue or stop.is_set():  # the driver did every day while Ray started, or stopped
            return
        self._ensure_ray(ray)
        pending: dict = {}
        try:
            submit = _day_submitter(ray, world, settings)
            limit = max(1, self._worker_count(ray) * TASKS_IN_FLIGHT_PER_WORKER)
            queue.reverse()
            while (queue or pending) and not stop.is_set():
                while queue and len(pending) < limit:
                    task = queue.pop()
                    pending[submit(task)] = task
                # a timeout, so that a stop request is seen while every day is still running
                done, _ = ray.wait(list(pending), num_returns=1, timeout=STOP_POLL_SECONDS)
                yield from _collect(ray, done, pending)
            deadline = time.monotonic() + IN_FLIGHT_GRACE_SECONDS
            while pending and time.monotonic() < deadline:  # stopping: let days in flight commit
                done, _ = ray.wait(
                    list(pending), num_returns=1, timeout=max(0.0, deadline - time.monotonic())
                )
                yield from _collect(ray, done, pending)
        finally:  # stopped, or the consumer stopped early (e.g. a hook failed)
            _cancel(ray, list(pending))
            self.close()

    def starts_local_ray(self) -> bool:
        """Whether `start` would launch a local Ray (seconds), not join a running one."""
        import ray

        return not self.address and not ray.is_initialized()

    def start(self, warm: bool = False) -> None:
        """Start local Ray or connect to the cluster now (the driver does it while it plans).
        With `warm`, a Ray that was already running gets one warm-up task per worker slot,
        never waited for: its workers would otherwise idle through the plan. A local Ray
        started here comes up about when the plan ends, so it is not warmed."""
        import ray

        already_running = not self.starts_local_ray()
        self._ensure_ray(ray)
        if warm and already_running:
            task = ray.remote(num_cpus=1, max_retries=0)(_warm_up_worker)
            self.warming = [task.remote() for _ in range(self._worker_count(ray))]

    def close(self) -> None:
        """Stop the Ray this executor started, waiting for its processes to exit, so that none
        outlives the run; a cluster's Ray is only disconnected from."""
        import ray

        if self._started_here:
            ray.shutdown(wait_for_processes=not self.address)
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
        """Start local Ray (or connect to a cluster) unless this process already did; a Ray
        this process is connected to must be the one `address` names, if it names one."""
        if ray.is_initialized():
            if self.address and not _connected_to(ray, self.address):
                connected = ray.get_runtime_context().gcs_address
                rule = (
                    f"{{ray_address}}: this process is already connected to the Ray at "
                    f"{connected}, not {self.address!r}; call ray.shutdown() first, or leave "
                    "{ray_address} out to run on that Ray"
                )
                raise OptionError("", rule, "ray_address")
            return
        self._started_here = True  # set first: `close` also cleans up a start that failed
        if self.address:
            probe_address(self.address)
            try:
                ray.init(address=self.address, log_to_driver=False)
            except Exception as exc:
                rule = f"{{ray_address}}: cannot connect to {self.address!r}: {_one_line(exc)}"
                raise OptionError("", rule, "ray_address") from None
        else:
            with _quiet_token_notice():
                ray.init(
                    address="local",
                    num_cpus=self.workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                )


def _connected_to(ray, address: str) -> bool:
    """Whether the Ray this process is connected to is the one `address` names: the same port
    on the same host (a loopback name stands for this node's own address)."""
    if address == "auto" or ray.util.client.ray.is_connected():  # ray://: the client's own
        return True
    if address.startswith("ray://"):
        return False
    connected = ray.get_runtime_context().gcs_address
    host, _, port = address.rpartition(":")
    here, _, here_port = connected.rpartition(":")
    if port != here_port:
        return False
    node = ray.util.get_node_ip_address()
    hosts = {node if _is_loopback(h) else h for h in (_resolved(host), _resolved(here))}
    return len(hosts) == 1


def _resolved(host: str) -> str:
    try:
        return socket.gethostbyname(host.strip("[]"))
    except OSError:
        return host


def _is_loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost")


def probe_address(address: str, timeout: float = 5.0, handshake: bool = True) -> None:
    """Fail fast on an address nothing listens on, or that does not complete a gRPC handshake
    (`handshake`): ray.init would retry for minutes."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        rule = f"{{ray_address}}: expected host:port, ray://host:port or auto, got {address!r}"
        raise OptionError("", rule, "ray_address")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        rule = f"{{ray_address}}: nothing answers at {address} ({exc.strerror or exc})"
        raise OptionError("", rule, "ray_address") from None
    if handshake and not _speaks_grpc(host, int(port), GRPC_READY_SECONDS):  # else ray.init
        rule = (
            f"{{ray_address}}: {address} accepts connections but does not answer as a Ray "
            f"cluster within {GRPC_READY_SECONDS:.0f} s (is it the GCS port, 6379 by default?)"
        )
        raise OptionError("", rule, "ray_address")  # would retry for about 14 minutes


def _speaks_grpc(host: str, port: int, timeout: float) -> bool:
    """Whether a gRPC server (a Ray GCS or client server) completes its handshake at host:port.
    With TLS on (RAY_USE_TLS), a plain channel cannot tell: assumed yes."""
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return True
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


@contextlib.contextmanager
def _quiet_token_notice() -> Iterator[None]:
    """Hide the notice a new local Ray logs when it turns token authentication on by itself.

    That default is the safe one: a local Ray listens on every interface, not only loopback,
    so auth stays on; only the notice (and, once, "generated a new token") is dropped. A user's
    RAY_AUTH_MODE is honoured by Ray as it is, and --ray-address clusters never pass here.
    """
    notices = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = notices.level
    notices.setLevel(logging.ERROR)
    try:
        yield
    finally:
        notices.setLevel(level)


def _collect(ray, done: list, pending: dict) -> Iterator[Outcome]:
    """The outcome of each finished task, removed from `pending`."""
    for ref in done:
        task = pending.pop(ref)
        try:
            outcome = ray.get(ref)
        except Exception as exc:
            outcome = DayFailure(_day_text(task), _one_line(exc))
        yield outcome


def _cancel(ray, refs: list) -> None:
    """Cancel our own tasks (never anything else on a cluster) and wait, bounded, until they
    are gone, so that none writes after the lock is released. A force-cancelled task's worker
    is killed mid-write: its partition has no `_SUCCESS` and the next run rewrites it."""
    if not refs:
        return
    # Only the unfinished: in Ray 2.60 a force-cancel that meets the task's own reply can crash
    # the driver ("Check failed: it != submissible_tasks_.end()").
    _, unfinished = ray.wait(refs, num_returns=len(refs), timeout=0)
    for ref in unfinished:
        ray.cancel(ref, force=True)
    with contextlib.suppress(Exception):
        ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_SECONDS)
    log.info("cancelled %d day(s) in flight", len(refs))


def _day_submitter(ray, world: WorldPlan | BlockedWorld, settings: WriteSettings) -> Callable:
    """A function submitting one day task. The plan is put in the object store once, and each
    task gets its handles (`_held_plan`): for a blocked world, those of its shared part and of
    every block's packed pieces, with the day's earlier numbers as an argument of its own."""
    options = {"num_cpus": 1, "max_retries": 3}
    if not isinstance(world, BlockedWorld):
        plan_day = ray.remote(**options)(_run_day_on_node)
        handles = [ray.put(world)]
        return lambda task: plan_day.remote(handles, task, settings)
    blocked_day = ray.remote(**options)(_run_blocked_day_on_node)
    handles = [ray.put(world.shared()), *world.blocks]  # on Ray, the blocks are handles
    return lambda task: blocked_day.remote(handles, task, settings, world.earlier[task.day])


def _run_day_on_node(handles: list, task: DayTask, settings: WriteSettings) -> DayResult:
    (world,) = _held_plan(handles)
    return _run_on_node(world, task, settings)


def _run_blocked_day_on_node(
    handles: list, task: DayTask, settings: WriteSettings, earlier: list
) -> DayResult:
    """A blocked world's day: its shared part and every block's packed pieces are `handles`."""
    shared, *blocks = _held_plan(handles)
    return _run_on_node(shared.assemble(task.day, earlier, blocks), task, settings)


def _run_on_node(world: WorldPlan, task: DayTask, settings: WriteSettings) -> DayResult:
    import ray

    result = run_day(world, task, settings)
    result.node_id = ray.get_runtime_context().get_node_id()
    return result


# The plan objects this worker process fetched last, by the id of the first. Day tasks get
# the plan's handles inside a list, which Ray passes on as handles: a plan passed as an
# argument is unpickled for every task (its ~45 arrays and the config: 3-4 ms, as long as
# encoding 5,000 rows), while held here it is fetched once per worker and run. It stays
# pinned in the object store until this worker serves a day of another plan, or exits.
_held: dict[bytes, list] = {}


def _held_plan(handles: list) -> list:
    """The objects behind `handles`, from this worker's last fetch when it was of the same."""
    key = handles[0].binary()
    if key not in _held:
        import ray

        _held.clear()  # the previous plan is released before the next is fetched
        _held[key] = ray.get(handles, timeout=PLAN_FETCH_TIMEOUT_SECONDS)
    return _held[key]


def _warm_up_worker() -> None:
    """A new worker's one-off costs, paid while the driver plans instead of in its first day:
    unpickling this function imports the render and write modules, and the contact
    vocabularies are built (with them, pyarrow's import of pandas on its first array)."""
    build_vocabularies()


def _day_text(task: DayTask) -> str:
    return day_date(task.day).isoformat()


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"


EXECUTORS = ("auto", "ray", "in-process")


def auto_waits_for_plan(kind: str, address: str | None, tasks: int, plans_quickly: bool) -> bool:
    """Whether `auto` should see the plan before choosing: a small world plans in well under
    the seconds a local Ray takes to start, and its work may not pay for that Ray."""
    return kind == "auto" and not address and tasks > 1 and plans_quickly


def choose_executor(
    kind: str,
    workers: int | None,
    address: str | None,
    tasks: int,
    work: WorkEstimate | None = None,
) -> Executor:
    """The executor named by `kind`; a dead `address` fails here, even in a process that already
    runs Ray. `auto` (the one place it is decided) runs in-process a run of one task (one core
    either way, and Ray's start-up costs more than the day) and a run whose planned `work` a
    local Ray would not pay for; everything else, and any run on a cluster, goes to Ray."""
    if kind not in EXECUTORS:
        rule = f"{{executor}}: must be one of {', '.join(EXECUTORS)}, got {kind!r}"
        raise OptionError("GenerateOptions", rule, "executor")
    local_auto = kind == "auto" and not address
    small = work is not None and not work.local_ray_pays_off(workers or os.cpu_count() or 1)
    if kind == "in-process" or (local_auto and (tasks <= 1 or small)):
        if local_auto and small:
            log.info("auto: %s, less than a local Ray costs: running in-process", work)
        return InProcessExecutor()
    if local_auto and work is not None:
        log.info("auto: %s: starting a local Ray", work)
    if address:
        import ray

        # connected already: start() checks that it is the Ray at `address`, no handshake
        probe_address(address, handshake=not ray.is_initialized())
    return RayExecutor(workers, address)
