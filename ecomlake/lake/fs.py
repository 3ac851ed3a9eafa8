"""Lake location (fsspec filesystem + root) and the few byte-level operations the writer needs.

Local writes go to `.<name>.tmp-<pid>` and are renamed into place, so a reader never sees half a
file; object stores get one `pipe_file` (a PUT is atomic there). Paths passed in are relative.
"""

from __future__ import annotations

import os
import re
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ecomlake.errors import ConfigError, EcomlakeError, StorageError

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_SUPPORTED_SCHEMES = {"file": None, "s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}


@dataclass(frozen=True)
class LakeLocation:
    """Where the lake lives: `root` is the filesystem path (`/abs/dir` or `bucket/prefix`)."""

    fs: fsspec.AbstractFileSystem
    root: str
    uri: str

    @property
    def is_local(self) -> bool:
        """True for the local disk, where writes use temp file + rename."""
        return isinstance(self.fs, LocalFileSystem)


def resolve_target(uri: str, storage_options: dict[str, Any] | None = None) -> LakeLocation:
    """Resolve `--target` once: a local path, `file://`, `s3://` or `gs://` URI."""
    if not uri or not str(uri).strip():
        raise ConfigError("--target: must not be empty")
    match = _SCHEME_RE.match(uri)
    scheme = match.group(1).lower() if match else "file"
    if scheme not in _SUPPORTED_SCHEMES:
        raise ConfigError(
            f"--target: unsupported scheme '{scheme}' (use a local path, s3:// or gs://)"
        )
    target = uri if match else os.path.expanduser(uri)
    try:
        fs, path = fsspec.core.url_to_fs(target, **(storage_options or {}))
    except ImportError:
        package = _SUPPORTED_SCHEMES[scheme]
        raise ConfigError(f"--target: {scheme}:// needs the {package} package") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--target: cannot open {uri!r} ({exc})") from None
    if isinstance(fs, LocalFileSystem):
        return LakeLocation(fs=fs, root=os.path.abspath(path), uri=uri)
    root = path.rstrip("/")
    if not root:
        raise ConfigError(f"--target: {uri!r} must name a bucket")
    return LakeLocation(fs=fs, root=root, uri=uri)


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


def write_bytes(loc: LakeLocation, rel_path: str, data: bytes) -> None:
    """Write one whole file atomically (local: temp + rename; object store: one PUT)."""
    full = join(loc.root, rel_path)
    if not loc.is_local:
        try:
            loc.fs.pipe_file(full, data)
        except EcomlakeError:
            raise
        except Exception as exc:  # storage edge: every client error becomes a StorageError
            raise _storage_error("write", full, exc) from exc
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


def remove(loc: LakeLocation, rel_path: str) -> None:
    """Delete one file; a missing file is not an error."""
    full = join(loc.root, rel_path)
    try:
        if loc.is_local:
            os.remove(full)
        else:
            loc.fs.rm_file(full)
    except FileNotFoundError:
        return
    except Exception as exc:
        raise _storage_error("remove", full, exc) from exc


def list_dir(loc: LakeLocation, rel_dir: str) -> list[str]:
    """Sorted names directly inside `rel_dir`; empty if it does not exist."""
    full = join(loc.root, rel_dir)
    try:
        if loc.is_local:
            return sorted(os.listdir(full))
        loc.fs.invalidate_cache(full)  # another process may have written since the last listing
        entries = loc.fs.ls(full, detail=False)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except Exception as exc:
        raise _storage_error("list", full, exc) from exc
    here = full.rstrip("/")
    names = {str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries if str(e).rstrip("/") != here}
    return sorted(names)


def read_bytes(loc: LakeLocation, rel_path: str) -> bytes:
    """Whole file contents; a missing file raises StorageError."""
    full = join(loc.root, rel_path)
    try:
        if loc.is_local:
            with open(full, "rb") as handle:
                return handle.read()
        return loc.fs.cat_file(full)
    except Exception as exc:
        raise _storage_error("read", full, exc) from exc


def exists(loc: LakeLocation, rel_path: str) -> bool:
    """True if the file (or directory) exists."""
    full = join(loc.root, rel_path)
    if loc.is_local:
        return os.path.exists(full)
    try:
        loc.fs.invalidate_cache(full)
        return bool(loc.fs.exists(full))
    except Exception as exc:
        raise _storage_error("stat", full, exc) from exc
