"""How long one storage request may take, so that an endpoint that never answers cannot hang a run.

    ECOMLAKE_STORAGE_TIMEOUT   seconds (default 15): the connect timeout and the read timeout
                               (longest silence while waiting for or reading a reply)

The clients' own defaults are not enough: gcsfs passes `requests_timeout=None` to aiohttp, which
means no timeout at all, and for a PUT botocore sends `Expect: 100-continue`, and aiohttp waits
for the `100 Continue` with no timeout and starts its read timeout only once the body is sent.
So a write also gets a deadline for the whole call: both timeouts plus the body at
`MIN_UPLOAD_RATE`. A reply that trickles in (a byte every few seconds) never trips the read
timeout either, so listings, stats and deletes get a whole-call deadline too, and a read of a
whole object one sized for the biggest part at the same rate. A user's own client option (s3fs
`config_kwargs` `connect_timeout` / `read_timeout`, gcsfs `requests_timeout`) wins over the
variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecomlake.errors import ConfigError, OptionError
from ecomlake.lake.retry import env_number

TIMEOUT_ENV = "ECOMLAKE_STORAGE_TIMEOUT"
DEFAULT_TIMEOUT = 15.0
MAX_TIMEOUT = 3600.0
# bytes/s a write is allowed to be as slow as before its deadline passes (2 Mbit/s): a 128 MB
# part gets ~8.5 min, an empty probe object just the two timeouts
MIN_UPLOAD_RATE = 256 * 1024
CALL_READS = 4  # a call without a body: its reply may take this many read timeouts in all
MAX_READ_BYTES = 256 * 2**20  # the largest object read whole (a part file); ~17 min at the rate


@dataclass(frozen=True)
class StorageTimeouts:
    """Connect and read timeouts of every storage request, in seconds."""

    connect: float = DEFAULT_TIMEOUT
    read: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageTimeouts:
        """`ECOMLAKE_STORAGE_TIMEOUT` for both; an invalid value is a one-line ConfigError."""
        env = os.environ if environ is None else environ
        seconds = env_number(env, TIMEOUT_ENV, float, DEFAULT_TIMEOUT, "seconds > 0")
        if not (0 < seconds <= MAX_TIMEOUT and math.isfinite(seconds)):
            raise ConfigError(
                f"{TIMEOUT_ENV}: must be seconds > 0 and <= {MAX_TIMEOUT:g}, "
                f"got {env[TIMEOUT_ENV]!r}"
            )
        return cls(connect=seconds, read=seconds)

    def write_deadline(self, size: int) -> float:
        """Seconds a whole write of `size` bytes may take."""
        return self.connect + self.read + size / MIN_UPLOAD_RATE

    def call_deadline(self) -> float:
        """Seconds a listing, stat or delete may take in all: a reply that trickles in, a byte
        at a time, never trips the read timeout (the longest silence)."""
        return self.connect + CALL_READS * self.read

    def read_deadline(self) -> float:
        """Seconds a whole object's read may take: up to `MAX_READ_BYTES` at `MIN_UPLOAD_RATE`."""
        return self.connect + self.read + MAX_READ_BYTES / MIN_UPLOAD_RATE

    def s3_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """s3fs options with botocore's `connect_timeout`/`read_timeout` set unless given."""
        config = options.get("config_kwargs") or {}
        if not isinstance(config, Mapping):
            example = "config_kwargs.read_timeout=30"
            rule = f"{{storage_options}}: config_kwargs takes entries, e.g. {example}"
            raise OptionError("", rule, "storage_options")
        config = dict(config)
        config.setdefault("connect_timeout", self.connect)
        config.setdefault("read_timeout", self.read)
        return dict(options, config_kwargs=config)

    def gcs_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """gcsfs options with `requests_timeout` set unless given.

        gcsfs hands `requests_timeout` to aiohttp as each request's `timeout`: a number there is
        a total for the request (a large upload included), so ours is a ClientTimeout with only
        the connect and read (silence) bounds."""
        if options.get("requests_timeout") is not None:
            return options
        import aiohttp

        timeout = aiohttp.ClientTimeout(sock_connect=self.connect, sock_read=self.read)
        return dict(options, requests_timeout=timeout)
