"""Ray job submission: run any ecomlake command on a cluster's job server, with the project
and its configs shipped as the job's working_dir (no shared filesystem needed).
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ecomlake.errors import ConfigError, OptionError

log = logging.getLogger(__name__)

EXCLUDES = [".git", "output", "artifacts", "bench/results", "**/__pycache__", "*.egg-info"]
AGENT_WAIT_SECONDS = 60
CONNECT_SECONDS = 10.0  # each request to the job server: to connect,
ANSWER_SECONDS = 30.0  # and between bytes of its answer;
UPLOAD_ANSWER_SECONDS = 300.0  # the answer to the working_dir's upload may take longer
QUIET_POLL_SECONDS = 30.0  # while a followed job prints nothing, its status is asked this often
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
STATUS_EXIT = {"SUCCEEDED": 0, "STOPPED": 3, "FAILED": 3}


@dataclass(frozen=True)
class SubmitOptions:
    """Where and how to launch: job server address, what to ship, extra env and pip packages."""

    address: str
    working_dir: str = "."
    pip: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    python: str = "python"  # the interpreter on the cluster that runs `-m ecomlake`


def client(address: str):
    """A JobSubmissionClient, or a one-line error naming the address."""
    if not address.startswith(("http://", "https://")):
        rule = f"must be the job server URL, e.g. http://head:8265 (got {address!r})"
        raise _bad_address(rule)
    try:
        import requests
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise _bad_address(
            "job submission needs ray[default] (pip install 'ecomlake[cluster]')"
        ) from None

    class BoundedClient(JobSubmissionClient):
        """Every request waits a bounded time: Ray's client sets none, so a server that
        accepts and never answers held `submit` for ever."""

        def _do_request(self, method: str, endpoint: str, **kwargs):
            answer = UPLOAD_ANSWER_SECONDS if method == "PUT" else ANSWER_SECONDS  # PUT: the
            kwargs.setdefault("timeout", (CONNECT_SECONDS, answer))  # package, unpacked first
            try:
                return super()._do_request(method, endpoint, **kwargs)
            except requests.Timeout:
                rule = f"the Ray job server at {address} did not answer within {answer:.0f} s"
                raise _bad_address(rule) from None

    try:
        return BoundedClient(address)
    except OptionError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad_address(f"cannot reach the Ray job server at {address} ({reason})") from None


def entrypoint(command: Sequence[str], python: str = "python") -> str:
    """The job's shell command: `python -m ecomlake <command…>`, safely quoted."""
    if not command:
        raise ConfigError(
            "submit: give the ecomlake command to run, e.g. -- generate -c gen_config/quick.yaml"
        )
    return " ".join([shlex.quote(python), "-m", "ecomlake", *map(shlex.quote, command)])


def runtime_env(options: SubmitOptions) -> dict:
    """Ship the project folder (package + configs); add env vars and pip packages if asked."""
    folder = Path(options.working_dir).resolve()
    if not (folder / "ecomlake").is_dir():
        rule = f"{{working_dir}}: {folder} does not hold the ecomlake package"
        raise OptionError("SubmitOptions", rule, "working_dir")
    env: dict = {"working_dir": str(folder), "excludes": EXCLUDES}
    if options.env:
        env["env_vars"] = dict(options.env)
    if options.pip:
        env["pip"] = list(options.pip)
    return env


def submit(options: SubmitOptions, command: Sequence[str]) -> str:
    """Submit the job and return its id."""
    command_line, env = entrypoint(command, options.python), runtime_env(options)
    jobs = client(options.address)  # after the local checks: bad arguments fail at once
    deadline = time.monotonic() + AGENT_WAIT_SECONDS
    while True:
        try:
            job_id = jobs.submit_job(entrypoint=command_line, runtime_env=env)
            break
        except RuntimeError as exc:  # a freshly started head has no job agent for a few seconds
            if "No available agent" not in str(exc) or time.monotonic() > deadline:
                raise _bad_address(f"the job server refused the job ({exc})") from None
            time.sleep(1.0)
    log.info("submitted %s to %s", job_id, options.address)
    return job_id


def follow(address: str, job_id: str, echo: Callable[[str], object] = sys.stdout.write) -> int:
    """Stream the job's logs until it ends; return an exit code from its final status.

    The log stream has no deadline (a job may print nothing for minutes), so while it is quiet
    the job's status is asked every QUIET_POLL_SECONDS, a bounded request: a server that stopped
    answering ends the wait with one line instead of holding it for ever."""
    jobs = client(address)

    async def _tail() -> None:
        stream = jobs.tail_job_logs(job_id).__aiter__()
        pending = asyncio.ensure_future(stream.__anext__())
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=QUIET_POLL_SECONDS)
                if not done:
                    state = await asyncio.to_thread(_quiet_status, address, job_id)
                    if state in TERMINAL:
                        return
                    continue
                try:
                    echo(pending.result())
                except StopAsyncIteration:
                    return
                pending = asyncio.ensure_future(stream.__anext__())
        finally:
            pending.cancel()

    asyncio.run(_tail())
    return exit_code(address, job_id)


def _quiet_status(address: str, job_id: str) -> str:
    try:
        return status(address, job_id)
    except OptionError:
        rule = (
            f"{{address}}: the Ray job server at {address} stopped answering while job {job_id} "
            f"ran; it may still be running: ask with {{status}} {job_id}"
        )
        raise OptionError("", rule, "address", "status") from None


def exit_code(address: str, job_id: str) -> int:
    """0 for a succeeded job; the driver's own exit code when Ray reports it; else 3."""
    info = _info(address, job_id)
    status = str(info.status).rsplit(".", 1)[-1]
    code = getattr(info, "driver_exit_code", None)
    if status != "SUCCEEDED" and isinstance(code, int) and code != 0:
        return code
    return STATUS_EXIT.get(status, 3)


def status(address: str, job_id: str) -> str:
    info = _info(address, job_id)
    return str(info.status).rsplit(".", 1)[-1]


def logs(address: str, job_id: str) -> str:
    try:
        return client(address).get_job_logs(job_id)
    except RuntimeError as exc:
        raise OptionError("", f"{{logs}}: no job {job_id!r} on {address} ({exc})", "logs") from None


def _info(address: str, job_id: str):
    try:
        return client(address).get_job_info(job_id)
    except RuntimeError as exc:
        rule = f"{{status}}: no job {job_id!r} on {address} ({exc})"
        raise OptionError("", rule, "status") from None


def _bad_address(rule: str) -> OptionError:
    """`rule` about the job server's address, a plain argument of `client` (`--address`)."""
    return OptionError("", "{address}: " + rule, "address")
