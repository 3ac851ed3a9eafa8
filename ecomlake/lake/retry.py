"""The one retry wrapper for object-store calls: transient errors are retried with backoff.

Transient: HTTP 5xx, throttling (SlowDown, 429, 503), dropped connections and timeouts, expired
tokens and credential-refresh failures. Terminal: everything else, notably 403/404, NoSuchBucket,
missing or invalid credentials, and our own errors. s3fs/botocore and gcsfs are built with their
own retries off (see `fs.py`), so the attempts counted here are the only ones; below them, aiohttp
still resends an idempotent request once when its kept-alive connection turns out closed.

    ECOMLAKE_UPLOAD_RETRIES        attempts in total, first try included (default 5; 1 = no retry)
    ECOMLAKE_UPLOAD_BACKOFF_BASE   seconds (default 0.5); delay before retry n (n = 1, 2, ...) is
                                   base * 2**(n-1) * jitter, jitter uniform in [0.5, 1.5], <= 30 s
    ECOMLAKE_RETRY_MAX_SECONDS     seconds (default 30) of retrying: no retry starts once the time
                                   since the first failure plus the next delay would pass this, so
                                   a dead endpoint costs the first attempt, this, and one more

Example:
    >>> policy = RetryPolicy(attempts=3, backoff_base=0.0)
    >>> retry_call(lambda: 42, action="write", target="s3://bucket/x", policy=policy)
    42
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ecomlake.errors import ConfigError, EcomlakeError, StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIES_ENV = "ECOMLAKE_UPLOAD_RETRIES"
BACKOFF_ENV = "ECOMLAKE_UPLOAD_BACKOFF_BASE"
MAX_SECONDS_ENV = "ECOMLAKE_RETRY_MAX_SECONDS"
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_MAX_SECONDS = 30.0
MAX_DELAY = 30.0

# Jitter spreads retries of parallel tasks apart. It is I/O timing, never data, so it uses the
# process-global `random` on purpose and has no place in the seeded generation streams.
_jitter = random.uniform

# Error codes (S3 `Error.Code`, GCS `reason`) and exception class names, by class.
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "TooManyRequests",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "backendError",
    "ConditionalRequestConflict",  # S3: a create raced another write of the key; a retry decides
}
_TERMINAL_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "AccountProblem",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "NoSuchBucket",
    "NoSuchKey",
    "InvalidBucketName",
    "forbidden",
    "notFound",
}
_TRANSIENT_TYPES = {
    # builtins and fsspec
    "TimeoutError",
    "ConnectionError",  # also requests.exceptions.ConnectionError and botocore's
    "FSTimeoutError",
    "IncompleteRead",
    # botocore
    "HTTPClientError",
    "ResponseStreamingError",
    # aiohttp
    "ClientConnectionError",
    "ClientPayloadError",
    "ServerDisconnectedError",
    # requests
    "ChunkedEncodingError",
    "Timeout",
    # refreshing credentials: google-auth, botocore (instance/container metadata, assume-role)
    "RefreshError",
    "TransportError",
    "CredentialRetrievalError",
    "MetadataRetrievalError",
}
_TERMINAL_TYPES = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "DefaultCredentialsError",
    "FileNotFoundError",
    "PermissionError",
    "NotADirectoryError",
    "IsADirectoryError",
    "FileExistsError",
    "ParamValidationError",
    "ValueError",
    "TypeError",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a remote call is retried."""

    attempts: int = DEFAULT_ATTEMPTS
    backoff_base: float = DEFAULT_BACKOFF_BASE
    max_delay: float = MAX_DELAY
    max_seconds: float = DEFAULT_MAX_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """Read the env overrides; an invalid value is a ConfigError naming the variable."""
        env = os.environ if environ is None else environ
        attempts = env_number(env, RETRIES_ENV, int, DEFAULT_ATTEMPTS, "an integer >= 1")
        if attempts < 1:
            raise ConfigError(f"{RETRIES_ENV}: must be an integer >= 1, got {env[RETRIES_ENV]!r}")
        base = env_number(env, BACKOFF_ENV, float, DEFAULT_BACKOFF_BASE, "seconds >= 0")
        if not 0 <= base <= MAX_DELAY:
            raise ConfigError(
                f"{BACKOFF_ENV}: must be seconds between 0 and {MAX_DELAY:g}, "
                f"got {env[BACKOFF_ENV]!r}"
            )
        budget = env_number(env, MAX_SECONDS_ENV, float, DEFAULT_MAX_SECONDS, "seconds >= 0")
        if not 0 <= budget < float("inf"):
            got = env[MAX_SECONDS_ENV]
            raise ConfigError(f"{MAX_SECONDS_ENV}: must be seconds >= 0, got {got!r}")
        return cls(attempts=attempts, backoff_base=base, max_seconds=budget)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.max_delay, self.backoff_base * 2 ** (attempt - 1) * _jitter(0.5, 1.5))


def env_number(env: Mapping[str, str], name: str, kind: type, default, rule: str):
    """`env[name]` as `kind`, `default` when unset or blank; else a ConfigError naming `name`."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = kind(text.strip())
    except ValueError:
        raise ConfigError(f"{name}: must be {rule}, got {text!r}") from None
    if kind is float and value != value:  # NaN
        raise ConfigError(f"{name}: must be {rule}, got {text!r}")
    return value


def is_transient(exc: BaseException) -> bool:
    """True if retrying the same call may succeed; the first decisive link of the chain wins."""
    for link in _chain(exc):
        verdict = _classify(link)
        if verdict is not None:
            return verdict
    return False


def _chain(exc: BaseException):
    """`exc`, then its causes (s3fs keeps botocore's ClientError as `__cause__`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _classify(exc: BaseException) -> bool | None:
    """True/False when this exception alone decides; None to look further down the chain."""
    if isinstance(exc, EcomlakeError):
        return False
    status, code = status_and_code(exc)
    if code in _TRANSIENT_CODES:
        return True
    if code in _TERMINAL_CODES:
        return False
    if status is not None:
        if status == 401:  # an expired token may come back as 401; a wrong one must not loop
            return "expired" in describe(exc).lower()
        return status >= 500 or status in (408, 429)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _TERMINAL_TYPES:  # s3fs turns ExpiredToken into PermissionError: ask the cause
        return None if exc.__cause__ is not None else False
    if names & _TRANSIENT_TYPES:
        return True
    return None


def status_and_code(exc: BaseException) -> tuple[int | None, str | None]:
    """(HTTP status, service error code) from botocore, gcsfs or aiohttp errors, if any."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        status = meta.get("HTTPStatusCode")
        return (int(status) if status else None), error.get("Code")
    for attr in ("status", "code"):  # aiohttp ClientResponseError.status, gcsfs HttpError.code
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value, None
        if isinstance(value, str) and value.isdigit():
            return int(value), None
    return None, None


_SECRET_IN_URL = re.compile(r"//[^/\s:@]+:[^/\s@]+@")


def describe(exc: BaseException) -> str:
    """`Type: message` on one line, with any user:password@ in URLs masked.

    s3fs re-raises botocore's ClientError as a bare OSError; the ClientError (its cause) names
    the service's error code, so that is the one described. fsspec re-raises aiohttp's read
    timeout as an FSTimeoutError without a message: then its cause is described."""
    for link in _chain(exc):
        if isinstance(getattr(link, "response", None), dict):
            exc = link
            break
    while exc.__cause__ is not None and not _text(exc):
        exc = exc.__cause__
    text = _text(exc)
    return f"{type(exc).__name__}: {_SECRET_IN_URL.sub('//***@', text or repr(exc))}"


def _text(exc: BaseException) -> str:
    try:
        return " ".join(str(exc).split())
    except Exception:  # a half-built client exception must not hide the real failure
        return ""


def retry_call(
    fn: Callable[[], T],
    *,
    action: str,
    target: str,
    policy: RetryPolicy,
    passthrough: tuple[type[BaseException], ...] = (),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `fn`, retrying transient errors per `policy`; failures become one StorageError.

    Retries stop at `policy.attempts` or when the next one would start more than
    `policy.max_seconds` after the first failure: an endpoint that times out every call must not
    hold a run for attempts x timeout, while a long upload that fails once is still retried.
    `passthrough` exceptions (e.g. FileNotFoundError for a delete)
    are re-raised as they are, never retried. The StorageError keeps the last client error as
    its `__cause__`.
    """
    started = clock()
    first_failure: float | None = None
    attempt = 1
    while True:
        try:
            return fn()
        except passthrough:
            raise
        except EcomlakeError:
            raise
        except Exception as exc:  # storage edge: every client error is classified here
            transient = is_transient(exc)
            if not transient:
                raise StorageError(f"{target}: {action} failed ({describe(exc)})") from exc
            delay = policy.delay(attempt)
            now = clock()
            first_failure = now if first_failure is None else first_failure
            if attempt >= policy.attempts or now - first_failure + delay > policy.max_seconds:
                raise StorageError(
                    f"{target}: {action} failed after {attempt} attempt"
                    f"{'s' if attempt > 1 else ''} in {now - started:.0f}s ({describe(exc)})"
                ) from exc
            log.warning(
                "%s %s: attempt %d of %d failed (%s); retrying in %.2fs",
                action,
                target,
                attempt,
                policy.attempts,
                describe(exc),
                delay,
            )
            sleep(delay)
            attempt += 1
