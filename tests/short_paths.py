"""Temp folders for processes that open Unix sockets under them (Ray)."""

from __future__ import annotations

import tempfile


def short_temp_dir(prefix: str) -> str:
    """A fresh folder directly under /tmp. Ray's socket paths (session dir + `sockets/...`) must
    stay under the 107-byte AF_UNIX limit, which pytest's per-worker temp folders can pass."""
    return tempfile.mkdtemp(prefix=f"{prefix}-", dir="/tmp")
