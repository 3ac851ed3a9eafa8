"""Hooks used by the tests (imported by the hook loader as `hook_fixtures:<name>`)."""

from __future__ import annotations

CALLS: list = []


def record(context) -> None:
    CALLS.append(context)


def explode(context) -> None:
    if context.table == "orders":
        raise RuntimeError("boom")


NOT_CALLABLE = 42
