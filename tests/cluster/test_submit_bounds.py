"""`ecomlake submit` never waits without limit, and checks its own arguments before it calls."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

from ecomlake.cli.app import run
from ecomlake.errors import OptionError
from ecomlake.run import submit as jobs

REPO = Path(__file__).resolve().parents[2]
HANG_UP_SECONDS = 15.0


@pytest.fixture
def silent_server():
    """A job server address that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except OSError:
                continue
            held.append(conn)  # hung up after a while: a client without limits fails, not hangs
            timer = threading.Timer(HANG_UP_SECONDS, conn.close)
            timer.daemon = True
            timer.start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("asked", [["--status", "raysubmit_x"], ["--working-dir", str(REPO),
                                   "--", "--version"]])  # fmt: skip
def test_a_server_that_never_answers_is_one_line_in_bounded_time(
    silent_server, monkeypatch, capsys, asked
):
    """Ray's client sets no timeout: submit and --status waited for ever."""
    monkeypatch.setattr(jobs, "ANSWER_SECONDS", 1.0)
    started = time.monotonic()
    assert run(["submit", "--address", silent_server, *asked]) == 2
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err.strip()
    assert (
        err == f"error: --address: the Ray job server at {silent_server} did not answer within 1 s"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "a", "--logs", "b"], "--status: cannot be combined with --logs"),
        (["--status", "a", "--", "generate"], "--status: cannot be combined with a command after"),
        (["--logs", "a", "--", "generate"], "--logs: cannot be combined with a command after --"),
        (["--working-dir", "/nonexistent", "--", "generate"], "--working-dir: /nonexistent does"),
        (["--working-dir", str(REPO)], "submit: give the ecomlake command to run"),
    ],
)
def test_its_own_arguments_fail_at_once_without_the_server(silent_server, capsys, args, message):
    """--status with --logs or a command ignored them silently; a bad --working-dir or no
    command was found only after the server answered (never, from a silent one)."""
    started = time.monotonic()
    assert run(["submit", "--address", silent_server, *args]) == 2
    assert time.monotonic() - started < 10
    assert capsys.readouterr().err.strip().startswith(f"error: {message}")


def test_following_a_job_whose_server_stops_answering_ends_with_one_line(monkeypatch):
    """The log stream has no deadline; a quiet one asks for the job's status, a bounded call,
    which here fails as for a server that froze mid-job."""

    class Quiet:
        async def tail_job_logs(self, job_id):
            await asyncio.sleep(HANG_UP_SECONDS)  # then ends: without the polls, no hang either
            yield ""

    def frozen(address, job_id):
        raise OptionError("", "{address}: did not answer", "address")

    monkeypatch.setattr(jobs, "client", lambda address: Quiet())
    monkeypatch.setattr(jobs, "status", frozen)
    monkeypatch.setattr(jobs, "QUIET_POLL_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(OptionError, match="stopped answering while job raysubmit_q ran"):
        jobs.follow("http://head:8265", "raysubmit_q", lambda text: None)
    assert time.monotonic() - started < 10
