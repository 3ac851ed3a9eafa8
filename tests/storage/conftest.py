"""Storage servers for the session: moto (S3), the GCS emulator and a fault-injecting proxy.

All listen on 127.0.0.1 in this process, so Ray workers reach them too. The env vars are set for
the whole session (AWS_* and STORAGE_EMULATOR_HOST), but tests that matter to Ray pass
`endpoint_url`/`key`/`secret` as storage options instead, so no worker depends on the env it
inherited when the shared Ray instance was started.
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import shutil
import socket
import struct
import tempfile
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from server_tweaks import list_service_folders_once, skip_metadata_dumps_in_memory
from short_paths import short_temp_dir

from ecomlake.api import generate

from .lakes import (
    KEY,
    REGION,
    SECRET,
    local_hashes,
    s3_client,
    small_config,
    tiny_config,
    world_options,
)

UPSTREAM_TIMEOUT = 30  # seconds; a proxy thread never waits longer than this on moto


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (own TMPDIR); AWS_* env set for the session; its URL."""
    from moto.server import ThreadedMotoServer

    spool = short_temp_dir("moto")  # Ray started under this TMPDIR keeps short socket paths
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", spool)  # moto spools object bodies to temp files
        mp.setattr(tempfile, "tempdir", spool)
        _atomic_conditional_writes(mp)
        list_service_folders_once(mp.setattr)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        mp.setenv("AWS_ACCESS_KEY_ID", KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_ENDPOINT_URL", endpoint)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never wait for an instance role
        try:
            yield endpoint
        finally:
            server.stop()
            shutil.rmtree(spool, ignore_errors=True)


def _atomic_conditional_writes(mp: pytest.MonkeyPatch) -> None:
    """Make moto's conditional writes atomic, as S3's are. moto checks `If-None-Match: *` and
    then stores the object without a lock, so on a loaded box two racing creates of one key
    could both succeed, which S3 never allows and our lock relies on."""
    from moto.s3.responses import S3Response

    lock = threading.Lock()
    for name in ("put_object", "_key_response_post"):  # PUT, and completing a multipart upload
        original = getattr(S3Response, name)

        def serialised(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        mp.setattr(S3Response, name, serialised)


_names = itertools.count()


@pytest.fixture(scope="session")
def make_bucket(moto_server) -> Callable[[str], str]:
    """`make_bucket(prefix)` creates a fresh S3 bucket `<prefix>-<n>` on moto and returns its name."""
    client = s3_client(moto_server)

    def make(prefix: str = "lake") -> str:
        name = f"{prefix}-{next(_names)}"
        client.create_bucket(Bucket=name)
        return name

    return make


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[str]:
    """gcp-storage-emulator in memory on 127.0.0.1; STORAGE_EMULATOR_HOST set; its URL."""
    from gcp_storage_emulator.server import create_server

    logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)  # a line per request
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        skip_metadata_dumps_in_memory(mp.setattr)
        mp.setenv("STORAGE_EMULATOR_HOST", endpoint)
        try:
            yield endpoint
        finally:
            server.stop()


@pytest.fixture(scope="session")
def make_gcs_bucket(gcs_server) -> Callable[[str], str]:
    """`make_gcs_bucket(prefix)` creates a fresh bucket on the emulator and returns its name."""

    def make(prefix: str = "lake") -> str:
        name = f"{prefix}-{next(_names)}"
        request = urllib.request.Request(
            f"{gcs_server}/storage/v1/b?project=test",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.read()
        return name

    return make


# ---------------------------------------------------------------------------------------------
# Fault-injecting proxy

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "content-length",
}
_ERRORS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "403": (403, "AccessDenied", "Access Denied"),
    "403-key": (403, "InvalidAccessKeyId", "The AWS Access Key Id does not exist in our records."),
    "409": (409, "ConditionalRequestConflict", "A conflicting operation is in progress."),
    "412": (412, "PreconditionFailed", "At least one of the pre-conditions did not hold"),
}


class FlakyProxy:
    """HTTP proxy in front of moto that breaks chosen PUTs, deterministically.

    Only requests of `methods` (PUT by default; POST is S3's bulk delete) can fail, and `puts`
    counts them. Every `every`-th PUT (0: none) gets the next fault of `modes` in turn: "500" (InternalError),
    "503" (SlowDown) or "reset" (connection closed with RST, no response). aiohttp resends an
    idempotent request once by itself when its connection drops, so a "reset" also resets the next
    PUT of the same path: the error then reaches the caller, as it does on a real outage. PUTs
    whose decoded path contains one of `fail_paths` always get `fail_with` ("503" by default;
    "403" AccessDenied and "403-key" InvalidAccessKeyId stand in for IAM, which moto skips). `injected` counts faults by
    mode (a reset pair counts once); `log` records (method, decoded path, status) of every request
    forwarded, in arrival order.
    """

    def __init__(
        self,
        upstream: str,
        every: int = 0,
        modes: tuple[str, ...] = ("500", "503", "reset"),
        fail_paths: tuple[str, ...] = (),
        fail_with: str = "503",
        methods: tuple[str, ...] = ("PUT",),
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.every = every
        self.modes = modes
        self.fail_paths = fail_paths
        self.fail_with = fail_with
        self.methods = methods
        self.injected: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []
        self.puts = 0
        self._reset_again: set[str] = set()
        self._lock = threading.Lock()
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="flaky-proxy", daemon=True
        )
        self._thread.start()

    def decide(self, method: str, path: str) -> str | None:
        """The fault to inject for this request, or None to forward it."""
        if method not in self.methods:
            return None
        with self._lock:
            self.puts += 1
            if path in self._reset_again:
                self._reset_again.discard(path)
                return "reset"
            if any(p in path for p in self.fail_paths):
                fault = self.fail_with
            elif self.every and self.puts % self.every == 0:
                fault = self.modes[sum(self.injected.values()) % len(self.modes)]
            else:
                return None
            self.injected[fault] += 1
            if fault == "reset":
                self._reset_again.add(path)
            return fault

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.log.append((method, path, status))

    def puts_in_order(self) -> list[str]:
        """Decoded paths of the PUTs moto accepted, in order."""
        with self._lock:
            return [p for m, p, s in self.log if m == "PUT" and s == 200]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real endpoint
    timeout = UPSTREAM_TIMEOUT  # an idle client connection is dropped after this
    proxy: FlakyProxy

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add
        # ~40 ms to every response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        body = self._read_body()
        path = unquote(self.path.split("?", 1)[0])
        fault = self.proxy.decide(self.command, path)
        if fault == "reset":
            # SO_LINGER 0: close() sends RST, the client sees a reset without any response
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault:
            status, code, message = _ERRORS[fault]
            error = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message><Resource>{path}</Resource></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        self._forward(body, path)

    def _forward(self, body: bytes, path: str) -> None:
        try:
            status, reason, headers, data = self._upstream_call(body)
        except (OSError, http.client.HTTPException):
            self._drop_upstream()  # moto closed a kept-alive connection: one fresh try
            status, reason, headers, data = self._upstream_call(body)
        self.proxy.record(self.command, path, status)
        self.send_response(status, reason)
        length = str(len(data))
        for name, value in headers:
            if name.lower() == "content-length" and self.command == "HEAD":
                length = value  # HEAD: the size of the object, no body follows
            elif name.lower() not in _HOP_BY_HOP and name.lower() not in ("server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _upstream_call(self, body: bytes):
        """Send this request to moto over this client connection's own kept-alive connection."""
        upstream = getattr(self, "_upstream", None)
        if upstream is None:
            upstream = http.client.HTTPConnection(*self.proxy.upstream, timeout=UPSTREAM_TIMEOUT)
            self._upstream = upstream
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                upstream.putheader(name, value)
        if body or self.command in ("PUT", "POST"):
            upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body or None)
        response = upstream.getresponse()
        data = response.read()
        return response.status, response.reason, response.getheaders(), data

    def _drop_upstream(self) -> None:
        upstream = getattr(self, "_upstream", None)
        if upstream is not None:
            upstream.close()
        self._upstream = None

    def finish(self) -> None:
        self._drop_upstream()
        super().finish()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


@pytest.fixture(scope="session")
def flaky_proxy(moto_server) -> Iterator[Callable[..., FlakyProxy]]:
    """Factory: `flaky_proxy(every=5, modes=(...), fail_paths=(...))` -> a started FlakyProxy in
    front of the session's moto server. Every proxy made is stopped at the end of the session."""
    made: list[FlakyProxy] = []

    def make(**kwargs) -> FlakyProxy:
        proxy = FlakyProxy(moto_server, **kwargs)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.stop()


# ---------------------------------------------------------------------------------------------
# Reference lakes on local disk


@dataclass(frozen=True)
class LocalLake:
    root: Path
    hashes: dict[str, str]  # relative path -> sha256, `_runs/` excluded


def _local_lake(root: Path, config) -> LocalLake:
    result = generate(config, world_options(str(root)))
    assert result.ok, result.failures
    return LocalLake(root, local_hashes(root))


@pytest.fixture(scope="session")
def small_local(tmp_path_factory) -> LocalLake:
    """The small world (200 customers) on local disk: what every other target must reproduce."""
    return _local_lake(tmp_path_factory.mktemp("small") / "lake", small_config())


@pytest.fixture(scope="session")
def tiny_local(tmp_path_factory) -> LocalLake:
    """The tiny world (100 customers) on local disk."""
    return _local_lake(tmp_path_factory.mktemp("tiny") / "lake", tiny_config())
