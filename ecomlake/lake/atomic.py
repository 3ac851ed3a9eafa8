"""Create a file only if nothing is at its path, with its whole content in the same step.

A reader never sees the file empty or half-written, and of several processes creating the same
path at once exactly one succeeds. Local disk: the bytes go to a unique temp file that is then
hard-linked to the final name (`link` fails if the name exists) and unlinked. S3: one PUT with
`If-None-Match: *`. GCS: one upload with `ifGenerationMatch=0`. Both stores answer 412 when the
object exists; S3 answers 409 ConditionalRequestConflict to a create that raced another write
of the same key, and that is retried like any transient error: remote calls take fs.py's one
path (`_remote`), so they get the same retries and limits as every other storage call.
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress

from ecomlake.lake.fs import LakeLocation, _remote, _storage_error, join
from ecomlake.lake.retry import status_and_code


def create_new(loc: LakeLocation, rel_path: str, data: bytes) -> bool:
    """Write `data` to `rel_path` if nothing is there; False (and nothing written) if it is.

    A create whose reply was lost and that is then retried also answers False: callers that must
    tell that apart from someone else's file compare the content (a lock compares its token).
    """
    full = join(loc.root, rel_path)
    if loc.is_local:
        return _create_local(full, data)

    def put() -> None:
        try:
            loc.fs.pipe_file(
                full, data, mode="create", timeout=loc.timeouts.write_deadline(len(data))
            )
        except FileExistsError:
            raise
        except Exception as exc:  # s3fs maps a 412 to FileExistsError only when it names the
            if _precondition_failed(exc):  # condition; any 412 of a create means "exists"
                raise FileExistsError(full) from exc
            raise

    try:
        _remote(loc, "create", full, put, (FileExistsError,))
    except FileExistsError:
        return False
    return True


def _create_local(full: str, data: bytes) -> bool:
    parent, name = os.path.split(full)
    tmp = os.path.join(parent, f".{name}.new-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.makedirs(parent, exist_ok=True)
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # the name must never point at bytes a crash can lose
        os.link(tmp, full)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _storage_error("create", full, exc) from exc
    finally:
        with suppress(OSError):
            os.remove(tmp)
    return True


def _precondition_failed(exc: BaseException) -> bool:
    link: BaseException | None = exc
    while link is not None:
        status, code = status_and_code(link)
        if status == 412 or code == "PreconditionFailed":
            return True
        link = link.__cause__
    return False
