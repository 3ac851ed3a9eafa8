"""An endpoint that accepts connections and never answers cannot hang a command.

The silent endpoint is a real listening socket on 127.0.0.1 that accepts and then says nothing:
the commands run as subprocesses of the real CLI against it, as S3 and as GCS, and must exit 2
with one error line within a bound. The timeouts are also checked against the real moto server
and GCS emulator: a timeout too small for them fails cleanly, a normal one works.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from ecomlake.cli.options import parse_storage_options
from ecomlake.errors import ConfigError, StorageError
from ecomlake.lake.fs import check_readable, check_target, list_dir, resolve_target, write_bytes
from ecomlake.lake.timeouts import StorageTimeouts

from .lakes import KEY, QUICK_CONFIG, REGION, SECRET, s3_options

LIFETIME = 300.0  # seconds the silent endpoint accepts at most, whatever the tests do
SMALL = {"ECOMLAKE_STORAGE_TIMEOUT": "1", "ECOMLAKE_RETRY_MAX_SECONDS": "0"}
BOUND = 60.0  # a command against the silent endpoint with SMALL settings (start-up included)


@contextlib.contextmanager
def _serving(on_accept: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """`http://127.0.0.1:<port>`, each connection it accepts (for at most LIFETIME seconds)
    handed to `on_accept` with the event set when the server stops."""
    server = socket.create_server(("127.0.0.1", 0), backlog=128)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        ends = time.monotonic() + LIFETIME
        while not stop.is_set() and time.monotonic() < ends:
            try:
                on_accept(server.accept()[0], stop)
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, name="test-endpoint", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.fixture(scope="module")
def silent_endpoint() -> Iterator[str]:
    """`http://127.0.0.1:<port>`: accepts every connection, reads nothing, never answers."""
    accepted: list[socket.socket] = []
    with _serving(lambda conn, stop: accepted.append(conn)) as url:
        yield url
    for conn in accepted:
        conn.close()


DEFAULTS_TEST = "test_silent_endpoint_with_default_settings_fails_within_two_minutes"


@pytest.fixture(scope="module", autouse=True)
def default_settings_run(
    request, silent_endpoint
) -> Iterator[tuple[subprocess.Popen, float] | None]:
    """The one-minute wait of the default-settings test, started as the module starts so that
    the module's other tests run meanwhile (it is last in the file); None when not selected."""
    if not any(item.name == DEFAULTS_TEST for item in request.session.items):
        yield None
        return
    env = _env(silent_endpoint, "s3")
    command = [sys.executable, "-m", "ecomlake", *_args("generate", "s3://lake/ecom")]
    started = time.monotonic()
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        yield proc, started
        if proc.poll() is None:  # the test did not run or did not wait: no stray CLI
            proc.kill()
            proc.communicate()


def _cli(args: list[str], env: dict[str, str], limit: float) -> tuple[int, list[str], float]:
    """Run `python -m ecomlake *args`; (exit code, lines of stderr, or of stdout for doctor,
    which reports there, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ecomlake", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=limit + 30,  # a hang fails the test instead of the session
    )
    seconds = time.monotonic() - started
    if args[0] == "doctor":
        assert done.stderr == ""
        return done.returncode, done.stdout.strip().splitlines(), seconds
    return done.returncode, done.stderr.strip().splitlines(), seconds


def _env(endpoint: str, scheme: str, **extra: str) -> dict[str, str]:
    """The test process's env with `endpoint` as the store of `scheme`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECOMLAKE_"))}
    env.update(
        AWS_ACCESS_KEY_ID=KEY,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        ECOMLAKE_PLAN_CACHE=str(Path(env.get("TMPDIR", "/tmp")) / "ecomlake-no-plan-cache"),
    )
    if scheme == "s3":
        env["AWS_ENDPOINT_URL"] = endpoint
    else:
        env["STORAGE_EMULATOR_HOST"] = endpoint
    env.update(extra)
    return env


def _args(command: str, target: str) -> list[str]:
    config = ["-c", str(QUICK_CONFIG)]
    return {
        "generate": ["generate", *config, "-t", target, "--no-progress", "--log-level", "error"],
        "doctor": ["doctor", *config, "-t", target],
        "verify": ["verify", target, "--log-level", "error"],
    }[command]


SLOW = pytest.mark.slow  # ~10-15 s each on 2 busy cores, mostly the CLI's start-up


@pytest.mark.parametrize(
    ("command", "scheme"),
    [
        ("generate", "s3"),
        ("verify", "s3"),
        pytest.param("doctor", "s3", marks=SLOW),
        pytest.param("generate", "gs", marks=SLOW),
        pytest.param("verify", "gs", marks=SLOW),
        pytest.param("doctor", "gs", marks=SLOW),
    ],
)
def test_silent_endpoint_fails_in_one_line(silent_endpoint, command, scheme):
    target = f"{scheme}://lake/ecom"
    code, err, seconds = _cli(_args(command, target), _env(silent_endpoint, scheme, **SMALL), BOUND)
    assert code == 2, err
    assert seconds < BOUND
    if command == "doctor":  # one line per check: only the target's fails, and says why
        err = [line for line in err if "FAIL" in line]
        assert len(err) == 1 and err[0].split()[:2] == ["FAIL", "target"], err
        err = ["error: " + err[0].split(None, 2)[2]]
    assert len(err) == 1, err
    assert err[0].startswith(f"error: --target: {target} did not answer: ")
    assert "timeout 1s, set by ECOMLAKE_STORAGE_TIMEOUT" in err[0], err


@pytest.mark.parametrize("dry_run", [True, False])
def test_upload_to_a_silent_endpoint_fails_in_one_line(silent_endpoint, tiny_local, dry_run):
    """A dry run read the bucket without the preflight: exit 3 after the retries, not one line
    naming the flags (and the smoke test's dry run reached out to a real bucket)."""
    args = ["upload-raw", "--source", str(tiny_local.root), "--bucket", "s3://lake",
            "--prefix", "ecom", *(["--dry-run"] if dry_run else [])]  # fmt: skip
    code, err, seconds = _cli(args, _env(silent_endpoint, "s3", **SMALL), BOUND)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: --bucket/--prefix: s3://lake/ecom did not answer: "), err
    assert seconds < BOUND


def test_storage_option_endpoint_reaches_the_probe(silent_endpoint):
    """The endpoint given as a storage option (not the env) is the one that times out."""
    env = _env("http://127.0.0.1:1", "s3", **SMALL)  # the env's endpoint refuses connections
    args = [*_args("generate", "s3://lake/ecom"), "--storage-option",
            f"endpoint_url={silent_endpoint}"]  # fmt: skip
    code, err, seconds = _cli(args, env, BOUND)
    assert code == 2 and len(err) == 1, err
    assert "did not answer" in err[0] and seconds < BOUND


# ---------------------------------------------------------------------------------------------
# The variable and the clients' own options, against the real servers


def test_timeout_variable_is_validated(monkeypatch):
    for bad in ("0", "-1", "nan", "inf", "abc", "7200"):
        monkeypatch.setenv("ECOMLAKE_STORAGE_TIMEOUT", bad)
        with pytest.raises(ConfigError, match=rf"^ECOMLAKE_STORAGE_TIMEOUT: must be .*'{bad}'"):
            resolve_target("s3://lake/ecom")
    monkeypatch.setenv("ECOMLAKE_STORAGE_TIMEOUT", "2.5")
    assert resolve_target("s3://lake/ecom").timeouts == StorageTimeouts(2.5, 2.5)


def test_clients_get_the_timeouts(monkeypatch, gcs_server):
    monkeypatch.setenv("ECOMLAKE_STORAGE_TIMEOUT", "7")
    s3 = resolve_target("s3://lake/ecom").fs
    assert (s3.config_kwargs["connect_timeout"], s3.config_kwargs["read_timeout"]) == (7, 7)
    gcs = resolve_target("gs://lake/ecom").fs
    assert gcs.requests_timeout == aiohttp.ClientTimeout(sock_connect=7, sock_read=7)
    # the clients' own names win over the variable
    mine = resolve_target("s3://lake/ecom", {"config_kwargs": {"read_timeout": 99}}).fs
    assert (mine.config_kwargs["connect_timeout"], mine.config_kwargs["read_timeout"]) == (7, 99)
    assert resolve_target("gs://lake/ecom", {"requests_timeout": 99}).fs.requests_timeout == 99
    with pytest.raises(ConfigError, match=r"^storage_options: config_kwargs takes entries"):
        resolve_target("s3://lake/ecom", {"config_kwargs": "read_timeout=5"})


def test_dotted_storage_options():
    options = parse_storage_options(
        ["config_kwargs.read_timeout=2.5", "config_kwargs.connect_timeout=3", "anon=false"]
    )
    assert options == {"config_kwargs": {"read_timeout": 2.5, "connect_timeout": 3}, "anon": False}
    for bad in ("config_kwargs.=1", ".x=1"):
        with pytest.raises(ConfigError, match=r"^--storage-option: expected key=value"):
            parse_storage_options([bad])
    with pytest.raises(ConfigError, match=r"given both as a value and as 'a\.b'"):
        parse_storage_options(["a=1", "a.b=2"])


def _times_out(call, error: type[Exception], match: str, tries: int = 5) -> None:
    """`call` fails with `error` matching `match` at least once in `tries`. A 0.1 ms timeout
    against a local server is a race (a reply can land in the same event-loop turn as the
    timer), so one success is no proof the option was ignored; five in a row are."""
    for _ in range(tries):
        try:
            call()
        except error as exc:
            assert re.search(match, str(exc)), str(exc)
            return
    pytest.fail(f"{tries} calls with a 0.1 ms timeout all succeeded: the timeout was not used")


def test_too_small_timeout_fails_cleanly_on_moto(monkeypatch, moto_server, make_bucket):
    target = f"s3://{make_bucket('tiny-timeout')}/lake"
    monkeypatch.setenv("ECOMLAKE_RETRY_MAX_SECONDS", "0")
    monkeypatch.setenv("ECOMLAKE_STORAGE_TIMEOUT", "0.0001")
    _times_out(
        lambda: check_target(resolve_target(target, s3_options(moto_server))),
        ConfigError,
        rf"^target: {target} did not answer: .*timeout",
    )
    monkeypatch.setenv("ECOMLAKE_STORAGE_TIMEOUT", "5")
    check_target(resolve_target(target, s3_options(moto_server)))


def test_storage_option_read_timeout_is_honoured_on_moto(moto_server, make_bucket, monkeypatch):
    monkeypatch.setenv("ECOMLAKE_RETRY_MAX_SECONDS", "0")
    target = f"s3://{make_bucket('option-timeout')}/lake"
    tiny = {**s3_options(moto_server), "config_kwargs": {"read_timeout": 0.0001}}
    _times_out(lambda: list_dir(resolve_target(target, tiny), ""), StorageError, "ReadTimeoutError")
    assert list_dir(resolve_target(target, s3_options(moto_server)), "") == []


def test_gcs_requests_timeout_is_honoured_on_the_emulator(gcs_server, make_gcs_bucket, monkeypatch):
    monkeypatch.setenv("ECOMLAKE_RETRY_MAX_SECONDS", "0")
    target = f"gs://{make_gcs_bucket('option-timeout')}/lake"
    _times_out(
        lambda: check_readable(resolve_target(target, {"requests_timeout": 0.0001})),
        ConfigError,
        "did not answer",
    )
    check_readable(resolve_target(target))


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_a_body_the_endpoint_never_reads_is_bounded(silent_endpoint, monkeypatch, scheme):
    """1 MiB to an endpoint that reads nothing. S3 waits for a `100 Continue` that never comes,
    where no read timeout runs, so the write's deadline ends it (1 + 1 + 1 MiB at 256 KiB/s =
    6 s); GCS sends the body into the socket buffers and its read timeout ends it sooner."""
    monkeypatch.setenv("ECOMLAKE_STORAGE_TIMEOUT", "1")
    monkeypatch.setenv("ECOMLAKE_RETRY_MAX_SECONDS", "0")
    options = {"endpoint_url": silent_endpoint}
    if scheme == "s3":
        options.update(key=KEY, secret=SECRET)
    loc = resolve_target(f"{scheme}://lake/big", options)
    started = time.monotonic()
    with pytest.raises(
        StorageError, match=r"write failed after 1 attempt .*(TimeoutError|timeout)"
    ):
        write_bytes(loc, "part-00000.parquet", b"\0" * (1 << 20))
    assert time.monotonic() - started < 6 + 5


def test_ray_workers_resolve_the_target_with_their_timeouts(ray_session):
    """Each day task resolves the target itself: the timeouts apply there too, from the
    environment the worker runs with."""

    @ray_session.remote(runtime_env={"env_vars": {"ECOMLAKE_STORAGE_TIMEOUT": "7"}})
    def in_worker() -> tuple[StorageTimeouts, dict]:
        loc = resolve_target("s3://lake/ecom", {"endpoint_url": "http://127.0.0.1:1"})
        return loc.timeouts, loc.fs.config_kwargs

    timeouts, config = ray_session.get(in_worker.remote(), timeout=120)
    assert timeouts == StorageTimeouts(7, 7)
    assert (config["connect_timeout"], config["read_timeout"]) == (7, 7)


@pytest.mark.slow
def test_silent_endpoint_with_default_settings_fails_within_two_minutes(default_settings_run):
    """No timeout or retry variable set: the worst case (an S3 write, which waits for both
    timeouts) still ends well within 120 s, counted from the command's start."""
    proc, started = default_settings_run
    _, err = proc.communicate(timeout=max(1.0, started + 150 - time.monotonic()))
    seconds = time.monotonic() - started
    err = err.strip().splitlines()
    assert proc.returncode == 2, err
    assert len(err) == 1 and "did not answer" in err[0], err
    assert seconds < 120
    assert "after 2 attempts" in err[0]  # the time budget, not the five attempts, ended it


@pytest.fixture
def trickling_endpoint() -> Iterator[str]:
    """`http://127.0.0.1:<port>`: answers every request with a status line, then one byte every
    half second, so no read ever waits as long as the read timeout."""

    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                ends = time.monotonic() + 20  # then hangs up: a client without limits fails
                while not stop.wait(0.5) and time.monotonic() < ends:
                    conn.sendall(b"X")
            except OSError:
                return

    def on_accept(conn: socket.socket, stop: threading.Event) -> None:
        threading.Thread(target=trickle, args=(conn, stop), daemon=True).start()

    with _serving(on_accept) as url:
        yield url


def test_a_reply_that_trickles_in_is_bounded(trickling_endpoint, monkeypatch):
    """A byte every half second never trips the read timeout (the longest silence): a listing
    and a read waited for ever, so verify of such an endpoint never ended. Each call now has a
    deadline for the whole reply: 1 + 4 × 1 s for a listing."""
    monkeypatch.setenv("ECOMLAKE_STORAGE_TIMEOUT", "1")
    monkeypatch.setenv("ECOMLAKE_RETRY_MAX_SECONDS", "0")
    loc = resolve_target("s3://lake/slow", {"endpoint_url": trickling_endpoint, "key": KEY,
                                            "secret": SECRET})  # fmt: skip
    started = time.monotonic()
    with pytest.raises(StorageError, match="did not arrive whole within its deadline"):
        list_dir(loc, "orders")
    assert time.monotonic() - started < 5 + 10
