"""The retry wrapper on its own: what is transient, the policy from the env, backoff, logging."""

from __future__ import annotations

import logging

import aiohttp
import pytest
import requests
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from google.auth.exceptions import DefaultCredentialsError, RefreshError
from s3fs.errors import translate_boto_error

from ecomlake.errors import ConfigError, StorageError
from ecomlake.lake import retry
from ecomlake.lake.fs import resolve_target
from ecomlake.lake.retry import RetryPolicy, is_transient, retry_call


def client_error(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PutObject")


def gcs_error(code: int, message: str = ""):
    from gcsfs.retry import HttpError

    return HttpError({"code": code, "message": message})


TRANSIENT = [
    client_error("SlowDown", 503),
    client_error("InternalError", 500),
    client_error("ServiceUnavailable", 503),
    client_error("Throttling", 400),
    client_error("RequestTimeout", 400),
    client_error("ExpiredToken", 400),
    client_error("SomethingNew", 502),
    client_error("TooManyRequests", 429),
    translate_boto_error(client_error("ExpiredToken", 400)),  # PermissionError, cause says why
    translate_boto_error(client_error("SlowDown", 503)),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ConnectionClosedError(endpoint_url="http://127.0.0.1:1"),
    ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ConnectionResetError("reset by peer"),
    TimeoutError("timed out"),
    aiohttp.ServerDisconnectedError(),
    aiohttp.ClientOSError(104, "Connection reset by peer"),
    gcs_error(503),
    gcs_error(429),
    gcs_error(401, "Invalid Credentials: token expired"),
    requests.exceptions.ProxyError(),  # gcsfs's rendering of a 502
    RefreshError("token refresh failed"),
    CredentialRetrievalError(provider="container-role", error_msg="timed out"),
    aiohttp.ClientResponseError(None, (), status=503),
]
TERMINAL = [
    client_error("AccessDenied", 403),
    client_error("NoSuchBucket", 404),
    client_error("NoSuchKey", 404),
    client_error("InvalidAccessKeyId", 403),
    client_error("SignatureDoesNotMatch", 403),
    client_error("SomethingElse", 400),
    translate_boto_error(client_error("AccessDenied", 403)),
    translate_boto_error(client_error("NoSuchBucket", 404)),
    NoCredentialsError(),
    FileNotFoundError("gone"),
    PermissionError("Forbidden"),
    OSError("Forbidden: bucket/key"),  # gcsfs's rendering of a 403
    ValueError("Bad Request: invalid"),
    KeyError("bug"),
    gcs_error(401, "Invalid Credentials"),
    gcs_error(403, "forbidden"),
    gcs_error(404),
    DefaultCredentialsError("no ADC"),
    aiohttp.ClientResponseError(None, (), status=404),
    StorageError("ours"),
    ConfigError("ours"),
]


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", TERMINAL, ids=lambda e: type(e).__name__)
def test_terminal(exc):
    assert not is_transient(exc)


def test_policy_from_env():
    assert RetryPolicy.from_env({}) == RetryPolicy(attempts=5, backoff_base=0.5)
    env = {"ECOMLAKE_UPLOAD_RETRIES": "2", "ECOMLAKE_UPLOAD_BACKOFF_BASE": "0.05"}
    assert RetryPolicy.from_env(env) == RetryPolicy(attempts=2, backoff_base=0.05)
    assert RetryPolicy.from_env({"ECOMLAKE_UPLOAD_RETRIES": " "}).attempts == 5
    assert RetryPolicy.from_env({}).max_seconds == 30
    assert RetryPolicy.from_env({"ECOMLAKE_RETRY_MAX_SECONDS": "0"}).max_seconds == 0


def test_retries_stop_at_the_time_budget():
    """Each attempt takes 20 s (a read timeout): with 30 s of retrying allowed the third attempt
    is the last, although ten are allowed; the error says how many and how long in all."""
    now = [0.0]
    calls = []

    def timing_out():
        calls.append(now[0])
        now[0] += 20.0
        raise TimeoutError("read timed out")

    def sleep(seconds: float) -> None:
        now[0] += seconds

    policy = RetryPolicy(attempts=10, backoff_base=1.0, max_seconds=30)
    with pytest.raises(StorageError, match=r"write failed after 3 attempts in 6\ds \(TimeoutError"):
        retry_call(
            timing_out, action="write", target="s3://b/x", policy=policy, sleep=sleep,
            clock=lambda: now[0],
        )  # fmt: skip
    assert len(calls) == 3
    with pytest.raises(StorageError, match=r"after 1 attempt in 20s"):
        now[0] = 0.0
        retry_call(
            timing_out, action="write", target="s3://b/x", sleep=sleep, clock=lambda: now[0],
            policy=RetryPolicy(attempts=10, backoff_base=1.0, max_seconds=0),
        )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ECOMLAKE_UPLOAD_RETRIES", "0"),
        ("ECOMLAKE_UPLOAD_RETRIES", "-3"),
        ("ECOMLAKE_UPLOAD_RETRIES", "2.5"),
        ("ECOMLAKE_UPLOAD_BACKOFF_BASE", "-0.1"),
        ("ECOMLAKE_UPLOAD_BACKOFF_BASE", "nan"),
        ("ECOMLAKE_UPLOAD_BACKOFF_BASE", "inf"),
        ("ECOMLAKE_UPLOAD_BACKOFF_BASE", "half a second"),
        ("ECOMLAKE_RETRY_MAX_SECONDS", "-1"),
        ("ECOMLAKE_RETRY_MAX_SECONDS", "inf"),
        ("ECOMLAKE_RETRY_MAX_SECONDS", "nan"),
        ("ECOMLAKE_RETRY_MAX_SECONDS", "a minute"),
    ],
)
def test_policy_rejects(name, value):
    with pytest.raises(ConfigError, match=rf"^{name}: must be .*got '{value}'"):
        RetryPolicy.from_env({name: value})


def test_delay_doubles_with_jitter_and_is_capped(monkeypatch):
    policy = RetryPolicy(attempts=10, backoff_base=0.5)
    monkeypatch.setattr(retry, "_jitter", lambda low, high: low)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    monkeypatch.setattr(retry, "_jitter", lambda low, high: high)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.75, 1.5, 3.0]
    assert policy.delay(10) == 30.0
    monkeypatch.undo()
    assert all(0.25 <= policy.delay(1) <= 0.75 for _ in range(200))


class Flaky:
    """Raises the given exceptions in turn, then returns 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_are_retried_and_logged(caplog):
    sleeps: list[float] = []
    fn = Flaky(client_error("SlowDown", 503), ConnectionResetError("reset"))
    with caplog.at_level(logging.WARNING, logger="ecomlake.lake.retry"):
        out = retry_call(
            fn, action="write", target="s3://b/x", policy=RetryPolicy(5, 0.5), sleep=sleeps.append
        )
    assert (out, fn.calls, len(sleeps)) == ("ok", 3, 2)
    assert 0.25 <= sleeps[0] <= 0.75 and 0.5 <= sleeps[1] <= 1.5
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("write s3://b/x: attempt 1 of 5 failed (ClientError: ")
    assert "SlowDown" in messages[0]
    assert messages[1].startswith("write s3://b/x: attempt 2 of 5 failed (ConnectionResetError")


def test_terminal_error_is_not_retried():
    fn = Flaky(translate_boto_error(client_error("AccessDenied", 403)))
    with pytest.raises(
        StorageError, match=r"^s3://b/x: write failed \(ClientError: .*AccessDenied"
    ):
        retry_call(fn, action="write", target="s3://b/x", policy=RetryPolicy(5, 0.0))
    assert fn.calls == 1


def test_attempts_run_out():
    fn = Flaky(*[client_error("InternalError", 500)] * 5)
    with pytest.raises(
        StorageError, match=r"^s3://b/x: list failed after 3 attempts in 0s \("
    ) as info:
        retry_call(fn, action="list", target="s3://b/x", policy=RetryPolicy(3, 0.0))
    assert fn.calls == 3
    assert isinstance(info.value.__cause__, ClientError)


def test_passthrough_and_own_errors_are_raised_as_they_are():
    with pytest.raises(FileNotFoundError):
        retry_call(
            Flaky(FileNotFoundError("x")),
            action="remove",
            target="s3://b/x",
            policy=RetryPolicy(5, 0.0),
            passthrough=(FileNotFoundError,),
        )
    with pytest.raises(ConfigError, match=r"^ours$"):
        retry_call(Flaky(ConfigError("ours")), action="w", target="t", policy=RetryPolicy(5, 0))


def test_no_credentials_in_messages(caplog):
    fn = Flaky(ConnectionResetError("http://AKIA:s3cr3t@proxy:8080 reset"))
    with caplog.at_level(logging.WARNING, logger="ecomlake.lake.retry"):
        retry_call(fn, action="read", target="s3://b/x", policy=RetryPolicy(2, 0.0))
    assert "s3cr3t" not in caplog.text and "//***@proxy" in caplog.text


def test_clients_leave_retrying_to_us(gcs_server):
    s3 = resolve_target("s3://bucket/lake", {"key": "k", "secret": "s"}).fs
    assert s3.retries == 1
    assert s3.config_kwargs["retries"] == {"total_max_attempts": 1}
    user = resolve_target("s3://bucket/lake", {"config_kwargs": {"retries": {"mode": "standard"}}})
    assert user.fs.config_kwargs["retries"] == {"mode": "standard"}  # the user's choice wins
    gs = resolve_target("gs://bucket/lake").fs
    assert not hasattr(type(gs)._request, "__wrapped__")  # gcsfs's retry decorator removed
    assert gs.credentials.token == "anon"  # STORAGE_EMULATOR_HOST: no credential lookup


def test_a_long_attempt_that_fails_once_is_still_retried():
    """The budget counts from the first failure: a 100 s upload that gets one 503 is retried."""
    now = [0.0]
    outcomes = [client_error("SlowDown", 503), None]

    def long_upload() -> str:
        now[0] += 100.0
        error = outcomes.pop(0)
        if error is not None:
            raise error
        return "done"

    policy = RetryPolicy(attempts=5, backoff_base=0.0, max_seconds=30)
    result = retry_call(
        long_upload, action="write", target="s3://b/x", policy=policy,
        sleep=lambda s: None, clock=lambda: now[0],
    )  # fmt: skip
    assert result == "done" and now[0] == 200.0
