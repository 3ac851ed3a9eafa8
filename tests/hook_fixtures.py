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


def no_context() -> None:
    """A hook that cannot take the partition's context."""


def two_contexts(context, other) -> None:
    """Nor can this one, alone."""


def summary(context) -> None:
    """The older tool's sample hook: a text file next to the partition's parts."""
    text = f"{context.table} {context.manifest.total_rows} rows\n"
    (context.partition_dir / "hook_summary.txt").write_text(text)
