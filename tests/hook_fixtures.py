"""Hooks used by the tests (imported by the hook loader as `hook_fixtures:<name>`)."""

from __future__ import annotations

import time

CALLS: list = []


def record(context) -> None:
    CALLS.append(context)


def explode(context) -> None:
    if context.table == "orders":
        raise RuntimeError("boom")


def slow(context) -> None:
    """Makes each committed partition take a while, so a run is caught mid-way."""
    time.sleep(0.1)


NOT_CALLABLE = 42
