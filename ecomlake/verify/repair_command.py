"""The command that repairs a lake, which a failed `verify` prints last: the user's target and
storage options, minus anything that looks like a credential (the report may be shared)."""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

# option names that carry credentials in s3fs / gcsfs / botocore (key, secret, token, ...)
_SECRET_NAME = re.compile(r"key|secret|token|password|credential|session|sas", re.IGNORECASE)


def repair_command(target: str, storage_options: dict | None = None) -> str:
    """`ecomlake generate --target T [--storage-option k=v ...] --repair`, shell-quoted."""
    words = ["ecomlake", "generate", "--target", target]
    for name, value in sorted((storage_options or {}).items()):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if _SECRET_NAME.search(name) or _has_userinfo(text):
            continue
        words += ["--storage-option", f"{name}={text}"]
    return shlex.join([*words, "--repair"])


def _has_userinfo(text: str) -> bool:
    """True for a URL with `user:password@` in it (an endpoint that embeds credentials)."""
    try:
        return bool(urlsplit(text).password or urlsplit(text).username)
    except ValueError:
        return "@" in text
