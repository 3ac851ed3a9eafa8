"""Lake location (filesystem + root), the byte-level operations the writer needs, and the preflight.

Local writes go to `.<name>.tmp-<pid>` and are renamed into place, so a reader never sees half a
file; object stores get one `pipe_file` (a PUT is atomic there). Paths passed in are relative.

Clients: s3fs for `s3://`, gcsfs for `gs://` (measured against pyarrow.fs in
bench/storage_clients.py, see docs/storage.md), plain `os` for local disk. Their own retries are
turned off; every remote call goes through `retry.retry_call`, so one policy (and one log line per
retry) covers writes, deletes, listings, reads and stats, and every request has the connect and
read timeouts of `timeouts.py`. Credentials come from the usual places
(AWS chain and AWS_ENDPOINT_URL; ADC, GOOGLE_APPLICATION_CREDENTIALS, STORAGE_EMULATOR_HOST) plus
`--storage-option`. Each task resolves the target itself, so all of this also holds in Ray workers.
"""

from __future__ import annotations

import os

# gcsfs reads this when it is imported; left at its default ("true") every call against a plain
# bucket or the emulator first waits ~60 s for a hierarchical-namespace probe.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import asyncio
import inspect
import json
import re
import shutil
import stat
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import fsspec
from fsspec.exceptions import FSTimeoutError
from fsspec.implementations.local import LocalFileSystem

from ecomlake.errors import OptionError, StorageError
from ecomlake.lake.retry import RetryPolicy, describe, retry_call, status_and_code
from ecomlake.lake.timeouts import TIMEOUT_ENV, StorageTimeouts

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# `s3:/bucket` or `gs:bucket`: a typo that would otherwise write a local folder named `s3:`
_SLIPPED_SCHEME_RE = re.compile(r"(s3|gs|gcs):/?(?!/)", re.IGNORECASE)
_SUPPORTED_SCHEMES = {"file": None, "s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}
_REMOTE_SCHEMES = {"s3": "s3", "gs": "gs", "gcs": "gs"}
# fsspec's listing-cache options, accepted by every filesystem on top of its own arguments
_FSSPEC_OPTIONS = {"use_listings_cache", "listings_expiry_time", "max_paths"}
# env vars that change what a client connects to or as whom: part of the client cache key
_ENV_PREFIXES = ("AWS_", "GOOGLE_", "GCE_", "CLOUDSDK_", "GCSFS_")
_ENV_NAMES = {"STORAGE_EMULATOR_HOST", "NO_GCE_CHECK", "HOME"}  # HOME: ~/.aws, ~/.gcs_tokens
_CACHE_SIZE = 8
PROBE_DIR = "_runs"  # lake/runs.py RUNS_DIR: a folder every lake has anyway
MIN_FREE_BYTES = 1 << 20  # the lock, _lake.json and _config.yaml alone need a few KiB


@dataclass(frozen=True)
class LakeLocation:
    """Where the lake lives: `root` is the filesystem path (`/abs/dir` or `bucket/prefix`)."""

    fs: fsspec.AbstractFileSystem
    root: str
    uri: str
    retry: RetryPolicy = field(default_factory=RetryPolicy, compare=False)
    timeouts: StorageTimeouts = field(default_factory=StorageTimeouts, compare=False)

    @property
    def is_local(self) -> bool:
        """True for the local disk, where writes use temp file + rename."""
        return isinstance(self.fs, LocalFileSystem)

    @property
    def scheme(self) -> str:
        """'file', 's3' or 'gs'."""
        if self.is_local:
            return "file"
        match = _SCHEME_RE.match(self.uri)
        return _REMOTE_SCHEMES[match.group(1).lower()] if match else "file"

    @property
    def bucket(self) -> str | None:
        """The bucket of an object-store target, else None."""
        return None if self.is_local else self.root.split("/", 1)[0]

    def display(self, full_path: str) -> str:
        """A filesystem path as the user would write it (`s3://bucket/key` or `/abs/path`)."""
        return full_path if self.is_local else f"{self.scheme}://{full_path}"


def resolve_target(uri: str, storage_options: dict[str, Any] | None = None) -> LakeLocation:
    """Resolve `--target` once: a local path, `file://`, `s3://` or `gs://` URI.

    Also validates the retry and timeout env vars, so a bad value fails before anything is
    planned.
    """
    if not uri or not str(uri).strip():
        raise _bad_target("must not be empty")
    match = _SCHEME_RE.match(uri)
    scheme = match.group(1).lower() if match else "file"
    if not match and (slip := _SLIPPED_SCHEME_RE.match(uri)):
        meant = f"{slip.group(1)}://{uri[slip.end() :].lstrip('/')}"
        raise _bad_target(f"{uri!r} is a URI with a slash missing: did you mean {meant!r}?")
    if scheme not in _SUPPORTED_SCHEMES:
        raise _bad_target(f"unsupported scheme '{scheme}' (use a local path, s3:// or gs://)")
    policy = RetryPolicy.from_env()
    timeouts = StorageTimeouts.from_env()
    options = dict(storage_options or {})
    if scheme == "file":
        target = uri if match else os.path.expanduser(uri)
        try:
            fs, path = fsspec.core.url_to_fs(target, **options)
        except (TypeError, ValueError) as exc:
            raise _bad_target(f"cannot open {uri!r} ({exc})") from None
        return LakeLocation(fs=fs, root=os.path.abspath(path), uri=uri, retry=policy)
    root = _remote_root(uri, match.end())
    fs = _remote_fs(_REMOTE_SCHEMES[scheme], options, timeouts)
    return LakeLocation(fs=fs, root=root, uri=uri, retry=policy, timeouts=timeouts)


def _remote_root(uri: str, start: int) -> str:
    """`bucket/prefix` of an object-store URI; no empty, `.` or `..` segments (one trailing `/`
    is fine). A prefix with `..` would write outside what the user named once a store or a
    reader normalises it, and `b//x` is a different key from `b/x` on S3 but not on disk."""
    rest = uri[start:]
    if not rest.split("/", 1)[0]:
        raise _bad_target(f"{uri!r} must name a bucket")
    body = rest[:-1] if rest.endswith("/") else rest
    segments = body.split("/")
    if any(s == "" for s in segments):
        raise _bad_target(f"{uri!r} has an empty path segment ('//')")
    if any(s in (".", "..") for s in segments):
        raise _bad_target(f"{uri!r} must not contain '.' or '..' segments")
    return body


_cache: dict[tuple, fsspec.AbstractFileSystem] = {}
_cache_lock = threading.Lock()


def _remote_fs(
    scheme: str, options: dict[str, Any], timeouts: StorageTimeouts
) -> fsspec.AbstractFileSystem:
    """One client per (process, options, relevant env): creating one costs ~0.3 s, and fsspec's
    own instance cache would keep serving a client built from an earlier environment."""
    options = timeouts.s3_options(options) if scheme == "s3" else timeouts.gcs_options(options)
    env = tuple(
        sorted(
            (k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES
        )
    )
    key = (os.getpid(), scheme, json.dumps(options, sort_keys=True, default=repr), env)
    with _cache_lock:
        fs = _cache.get(key)
    if fs is not None:
        return fs
    fs = _make_s3(options) if scheme == "s3" else _make_gcs(options)
    with _cache_lock:
        while len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = fs
    return fs


def _make_s3(options: dict[str, Any]) -> fsspec.AbstractFileSystem:
    try:
        import s3fs
    except ImportError:
        raise _bad_target("s3:// needs the s3fs package") from None
    _check_option_names("s3", s3fs.S3FileSystem, options)
    config = dict(options.pop("config_kwargs", None) or {})  # connect/read timeouts are set
    # botocore retries off (1 attempt in total) unless the user configured them
    config.setdefault("retries", {"total_max_attempts": 1})
    fs = _construct("s3", s3fs.S3FileSystem, dict(options, config_kwargs=config))
    fs.retries = 1  # s3fs's own retry loop (class default 5) off: ours is the one that counts
    return fs


def _make_gcs(options: dict[str, Any]) -> fsspec.AbstractFileSystem:
    try:
        import gcsfs  # noqa: F401 (the import error is what we report)
    except ImportError:
        raise _bad_target("gs:// needs the gcsfs package") from None
    cls = _gcs_class()
    _check_option_names("gs", cls, options)
    if "token" not in options and _gcs_emulated(options):
        options["token"] = "anon"  # the emulator takes no credentials; looking them up is slow
    return _construct("gs", cls, options)


_gcs_cls: type | None = None


def _gcs_class() -> type:
    """gcsfs's filesystem with its per-request retry decorator (6 tries, sleeps up to 32 s)
    removed. The decorator binds its count at class creation, so this subclass swaps in the
    undecorated `_request`; if a future gcsfs drops `__wrapped__`, the original stays."""
    global _gcs_cls
    if _gcs_cls is None:
        from gcsfs import GCSFileSystem

        raw = getattr(GCSFileSystem._request, "__wrapped__", None)
        namespace = {"_request": raw} if raw is not None else {}
        _gcs_cls = type("EcomlakeGCSFileSystem", (GCSFileSystem,), namespace)
    return _gcs_cls


def _gcs_emulated(options: dict[str, Any]) -> bool:
    """STORAGE_EMULATOR_HOST set, or a plain-http endpoint_url (no real GCS endpoint is http)."""
    if os.environ.get("STORAGE_EMULATOR_HOST", "") not in ("", "default"):
        return True
    return str(options.get("endpoint_url") or "").startswith("http://")


def _check_option_names(scheme: str, cls: type, options: dict[str, Any]) -> None:
    """A misspelt option would otherwise be swallowed by `**kwargs` and silently ignored."""
    params = inspect.signature(cls.__init__).parameters
    known = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD and n != "self"}
    unknown = sorted(set(options) - known - _FSSPEC_OPTIONS)
    if unknown:
        raise _bad_storage_options(
            f"unknown option {unknown[0]!r} for {scheme}:// "
            f"(known: {', '.join(sorted(known - {'asynchronous', 'loop', 'session'}))})"
        )


def _construct(scheme: str, cls: type, options: dict[str, Any]) -> fsspec.AbstractFileSystem:
    try:
        return cls(skip_instance_cache=True, **options)
    except (TypeError, ValueError) as exc:
        raise _bad_storage_options(f"invalid for {scheme}:// ({describe(exc)})") from None


def join(root: str, rel: str) -> str:
    """`root/rel` with forward slashes; `rel` must stay inside `root`."""
    if rel.startswith("/") or ".." in rel.split("/"):
        raise ValueError(f"path {rel!r}: must be relative and must not contain '..'")
    if not rel:
        return root
    base = root.rstrip("/")
    return f"{base}/{rel}" if base else f"/{rel}"


def _storage_error(action: str, path: str, exc: BaseException) -> StorageError:
    """One-line StorageError naming the action and the full path."""
    return StorageError(f"{path}: {action} failed ({type(exc).__name__}: {exc})")


def _missing_bucket(exc: BaseException) -> bool:
    """True if a not-found error is about the bucket (S3 NoSuchBucket), not the object."""
    link: BaseException | None = exc
    while link is not None:
        response = getattr(link, "response", None)
        if isinstance(response, dict) and (response.get("Error") or {}).get("Code") == (
            "NoSuchBucket"
        ):
            return True
        link = link.__cause__
    return False


def _remote(loc: LakeLocation, action: str, full: str, fn, passthrough=()):
    def bounded():
        try:
            return fn()
        except (FSTimeoutError, asyncio.CancelledError) as exc:  # the call's own deadline
            if str(exc.__cause__ or "").strip():  # the client's connect/read timeout said why
                raise
            raise TimeoutError("the reply did not arrive whole within its deadline") from None

    return retry_call(
        bounded, action=action, target=loc.display(full), policy=loc.retry, passthrough=passthrough
    )


def write_bytes(loc: LakeLocation, rel_path: str, data: bytes) -> None:
    """Write one whole file atomically (local: temp + rename; object store: one PUT)."""
    full = join(loc.root, rel_path)
    if not loc.is_local:
        _remote(loc, "write", full, lambda: _pipe_with_deadline(loc, full, data))
        return
    parent, name = os.path.split(full)
    tmp = os.path.join(parent, f".{name}.tmp-{os.getpid()}")
    try:
        os.makedirs(parent, exist_ok=True)
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, full)
    except OSError as exc:
        with suppress(OSError):
            os.remove(tmp)
        raise _storage_error("write", full, exc) from exc


def _pipe_with_deadline(loc: LakeLocation, full: str, data: bytes) -> None:
    """One PUT that gives up at its deadline (see `timeouts.py`: the read timeout alone does not
    cover a write); the TimeoutError says how long it waited."""
    deadline = loc.timeouts.write_deadline(len(data))
    try:
        loc.fs.pipe_file(full, data, timeout=deadline)
    except FSTimeoutError as exc:
        if str(exc.__cause__ or "").strip():  # the client's own connect/read timeout said why
            raise
        raise TimeoutError(f"the write got no reply within {deadline:.0f}s") from None


def remove(loc: LakeLocation, rel_path: str) -> None:
    """Delete one file; a missing file is not an error (a missing bucket is)."""
    full = join(loc.root, rel_path)
    if loc.is_local:
        try:
            os.remove(full)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _storage_error("remove", full, exc) from exc
        return
    try:
        _remote(
            loc,
            "remove",
            full,
            lambda: loc.fs.rm_file(full, timeout=loc.timeouts.call_deadline()),
            (FileNotFoundError,),
        )
    except FileNotFoundError as exc:
        if _missing_bucket(exc):
            raise _storage_error("remove", loc.display(full), exc) from exc


def remove_tree(loc: LakeLocation, rel_dir: str) -> bool:
    """Delete a folder and everything under it (a local link to a folder: the link only); False
    if there was none. A remote delete is retried like a write (it is idempotent: a retry lists
    and deletes what is left)."""
    full = join(loc.root, rel_dir)
    if loc.is_local:
        if not os.path.isdir(full):
            return False
        try:
            if os.path.islink(full):  # the link goes, never what it points to
                os.remove(full)
            else:
                shutil.rmtree(full)
        except OSError as exc:
            raise _storage_error("remove", full, exc) from exc
        return True

    def rm_tree() -> bool:
        loc.fs.invalidate_cache(full)
        if not loc.fs.exists(full, timeout=loc.timeouts.call_deadline()):
            return False
        loc.fs.rm(full, recursive=True)  # many requests, each bounded by the read timeout
        return True

    return _remote(loc, "remove", full, rm_tree)


def list_dir(loc: LakeLocation, rel_dir: str) -> list[str]:
    """Sorted names directly inside `rel_dir`; empty if it does not exist."""
    full = join(loc.root, rel_dir)
    if loc.is_local:
        try:
            return sorted(os.listdir(full))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise _storage_error("list", full, exc) from exc
    here = full.rstrip("/")
    entries = _remote_listing(loc, full, detail=False)
    names = {str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries if str(e).rstrip("/") != here}
    return sorted(names)


@dataclass(frozen=True)
class Entry:
    """One name of a folder listing. `kind`: "file" (a regular file), "dir", or "other" (a FIFO,
    device, socket, or a link that is broken or loops); `link`: a local symbolic link, whose
    kind and size are those of what it points to."""

    kind: str
    size: int = 0
    link: bool = False


def list_entries(loc: LakeLocation, rel_dir: str) -> dict[str, Entry]:
    """{name: Entry} of everything directly inside `rel_dir`, from one listing (a re-run checks
    each committed partition with it); empty if the folder does not exist. Nothing is opened, so
    a FIFO or a link to a device costs a stat, not a hang."""
    full = join(loc.root, rel_dir)
    if loc.is_local:
        try:
            with os.scandir(full) as entries:
                return {e.name: _local_entry(e) for e in entries}
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except OSError as exc:
            raise _storage_error("list", full, exc) from exc
    here = full.rstrip("/")
    found = {}
    for e in _remote_listing(loc, full, detail=True):
        name = str(e["name"]).rstrip("/")
        if name != here:
            kind = {"file": "file", "directory": "dir"}.get(e.get("type"), "other")
            found[name.rsplit("/", 1)[-1]] = Entry(kind, int(e.get("size") or 0))
    return found


def _local_entry(entry: os.DirEntry) -> Entry:
    link = entry.is_symlink()
    try:
        info = entry.stat()  # follows a link
    except OSError:  # broken or looping link
        return Entry("other", 0, link)
    if stat.S_ISREG(info.st_mode):
        return Entry("file", info.st_size, link)
    return Entry("dir" if stat.S_ISDIR(info.st_mode) else "other", 0, link)


def remove_entry(loc: LakeLocation, rel_path: str, entry: Entry) -> None:
    """Delete a listed entry: a folder with all it holds, a file, or a link itself."""
    if entry.kind == "dir" and not entry.link:
        remove_tree(loc, rel_path)
    else:
        remove(loc, rel_path)


def is_link(loc: LakeLocation, rel_path: str) -> bool:
    """True for a local symbolic link (object stores have none): a run never writes through one,
    since that would write outside the lake."""
    return loc.is_local and os.path.islink(join(loc.root, rel_path))


def _remote_listing(loc: LakeLocation, full: str, *, detail: bool) -> list:
    """One fresh `ls` of a remote folder; a missing folder is empty, a missing bucket an error."""

    def listing() -> list:
        loc.fs.invalidate_cache(full)  # another process may have written since the last listing
        return loc.fs.ls(full, detail=detail, timeout=loc.timeouts.call_deadline())

    try:
        return _remote(loc, "list", full, listing, (FileNotFoundError, NotADirectoryError))
    except (FileNotFoundError, NotADirectoryError) as exc:
        if _missing_bucket(exc):
            raise _storage_error("list", loc.display(full), exc) from exc
        return []


def read_bytes(loc: LakeLocation, rel_path: str) -> bytes:
    """Whole file contents; a missing file raises StorageError."""
    full = join(loc.root, rel_path)
    if not loc.is_local:
        return _remote(
            loc, "read", full, lambda: loc.fs.cat_file(full, timeout=loc.timeouts.read_deadline())
        )
    try:
        # non-blocking open: a FIFO would otherwise block here; only regular files are read
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise _storage_error("read", full, exc) from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StorageError(f"{full}: read failed (not a regular file)")
        try:
            return handle.read()
        except OSError as exc:
            raise _storage_error("read", full, exc) from exc


def exists(loc: LakeLocation, rel_path: str) -> bool:
    """True if the file (or directory) exists."""
    full = join(loc.root, rel_path)
    if loc.is_local:
        return os.path.exists(full)

    def stat() -> bool:
        loc.fs.invalidate_cache(full)
        return bool(loc.fs.exists(full, timeout=loc.timeouts.call_deadline()))

    return _remote(loc, "stat", full, stat)


# ---------------------------------------------------------------------------------------------
# Preflight


def check_target(loc: LakeLocation) -> None:
    """Fail with a one-line ConfigError before a run writes anything, if the target is unusable.

    Local: the folder may not exist yet, but it must not be a file and its nearest existing
    ancestor must be a writable folder. Object store: credentials are present, the bucket exists,
    and a probe object `<root>/_runs/.write-probe-<pid>` can be written, listed and deleted.
    """
    if loc.is_local:
        _check_local(loc)
        return
    _check_gcs_credentials(loc)
    probe = f"{PROBE_DIR}/.write-probe-{os.getpid()}"
    try:
        write_bytes(loc, probe, b"")
    except StorageError as exc:
        raise _preflight_error(loc, "write", exc) from None
    try:
        list_dir(loc, PROBE_DIR)
    except StorageError as exc:
        with suppress(StorageError):
            remove(loc, probe)
        raise _preflight_error(loc, "list", exc) from None
    try:
        remove(loc, probe)
    except StorageError as exc:
        raise _preflight_error(loc, "delete", exc) from None


def check_readable(loc: LakeLocation) -> None:
    """Fail with a one-line ConfigError if the lake at `loc` cannot be read at all: the endpoint
    does not answer, the bucket is missing, credentials are missing or refused. One listing of
    the root, so a reader needs no write permission."""
    if loc.is_local:
        return
    _check_gcs_credentials(loc)
    try:
        list_dir(loc, "")
    except StorageError as exc:
        raise _preflight_error(loc, "list", exc) from None


def _check_local(loc: LakeLocation) -> None:
    root = loc.root
    if os.path.exists(root):
        if not os.path.isdir(root):
            raise _bad_target(f"{root} exists and is not a folder")
        if not os.access(root, os.W_OK | os.X_OK):
            raise _bad_target(f"{root} is not writable")
        _check_free_space(root, root)
        return
    ancestor = os.path.dirname(root)
    while not os.path.exists(ancestor) and ancestor != os.path.dirname(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise _bad_target(f"cannot create {root}: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _bad_target(f"cannot create {root}: {ancestor} is not writable")
    _check_free_space(root, ancestor)


def _check_free_space(root: str, folder: str) -> None:
    """A disk that is already full would fail on the lock file, before any day: say so up front.
    (A disk that fills during the run fails the days that no longer fit, exit code 3.)"""
    usage = shutil.disk_usage(folder)
    if usage.total == 0:  # /proc, /sys: files there are not stored anywhere
        raise _bad_target(f"cannot write {root}: {folder} is on a filesystem with no storage")
    free = usage.free
    if free < MIN_FREE_BYTES:
        raise _bad_target(f"no space left for {root} ({free:,} bytes free)")


def _check_gcs_credentials(loc: LakeLocation) -> None:
    """gcsfs falls back to anonymous access when it finds no credentials; we refuse that unless
    asked for (`token=anon`) or talking to an emulator."""
    if loc.scheme != "gs":
        return
    credentials = getattr(loc.fs, "credentials", None)
    asked = getattr(credentials, "token", None) == "anon" or _gcs_emulated(
        {"endpoint_url": getattr(loc.fs, "_endpoint", None)}
    )
    if getattr(credentials, "method", None) == "anon" and not asked:
        raise _no_credentials(loc)


def _no_credentials(loc: LakeLocation) -> OptionError:
    if loc.scheme == "s3":
        hint = (
            "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
            "or pass {storage_options} key=... {storage_options} secret=..."
        )
    else:
        hint = (
            "set GOOGLE_APPLICATION_CREDENTIALS or run 'gcloud auth application-default login', "
            "or pass {storage_options} token=<path to a service-account JSON>"
        )
    return _bad_target(f"no credentials for {loc.uri} ({hint})")


_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
# what a request that got no answer in time raises: botocore, aiohttp, asyncio, our write deadline
_TIMED_OUT = {"ConnectTimeoutError", "ReadTimeoutError", "ServerTimeoutError", "TimeoutError"}
_NO_CREDENTIALS = {"NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError"}


def _preflight_error(loc: LakeLocation, step: str, exc: StorageError) -> OptionError:
    """Turn the probe's StorageError into the one line a user can act on."""
    links = []
    link: BaseException | None = exc.__cause__
    while link is not None and len(links) < 10:
        links.append(link)
        link = link.__cause__ or link.__context__
    names = {cls.__name__ for e in links for cls in type(e).__mro__}
    codes: set[str] = set()
    for e in links:
        status, code = status_and_code(e)
        codes.update(str(v) for v in (status, code) if v is not None)
        if isinstance(e, OSError) and str(e).startswith("Forbidden"):  # gcsfs's form of a 403
            codes.add("403")
    root_cause = describe(links[0]) if links else str(exc)
    if names & _NO_CREDENTIALS:
        return _no_credentials(loc)
    if "NoSuchBucket" in codes or (step == "write" and "FileNotFoundError" in names):
        return _bad_target(f"bucket '{loc.bucket}' does not exist ({loc.uri})")
    if codes & _BAD_CREDENTIALS or "401" in codes:
        return _bad_target(f"invalid credentials for {loc.uri} ({root_cause})")
    if "AccessDenied" in codes or "403" in codes or "PermissionError" in names:
        return _bad_target(f"not allowed to {step} in {loc.uri} ({root_cause})")
    if names & _TIMED_OUT:
        return _bad_target(
            f"{loc.uri} did not answer: {exc} (connect/read timeout "
            f"{loc.timeouts.read:g}s, set by {TIMEOUT_ENV})"
        )
    return _bad_target(f"cannot use {loc.uri}: {exc}")


def _bad_target(rule: str) -> OptionError:
    """`rule` about the target (its hints may name the storage options); owner "": the command
    that resolved the target names it (a library argument, a field, a flag)."""
    return OptionError("", "{target}: " + rule, "target", "storage_options")


def _bad_storage_options(rule: str) -> OptionError:
    return OptionError("", "{storage_options}: " + rule, "storage_options")
