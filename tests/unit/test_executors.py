"""Which executor a run gets: 'auto' keeps one-day runs off Ray, whose start-up outweighs a day."""

from __future__ import annotations

import pytest

from ecomlake.errors import ConfigError
from ecomlake.run.executors import InProcessExecutor, RayExecutor, make_executor


@pytest.mark.parametrize(
    ("kind", "address", "days", "expected"),
    [
        ("auto", None, 1, InProcessExecutor),
        ("auto", None, 2, RayExecutor),
        ("auto", "auto", 1, RayExecutor),  # a cluster was asked for: use it
        ("ray", None, 1, RayExecutor),
        ("in-process", None, 30, InProcessExecutor),
    ],
)
def test_executor_choice(kind, address, days, expected):
    executor = make_executor(kind, None, address, days)
    assert type(executor) is expected


def test_unknown_executor_names_the_choices():
    with pytest.raises(ConfigError, match="--executor: must be one of auto, ray, in-process"):
        make_executor("threads", None, None, 3)
