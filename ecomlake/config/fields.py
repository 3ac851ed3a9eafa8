"""Reusable constrained field types for the config models.

Every check raises `rule(...)`: its text is the sentence `load.py` prints after the YAML path.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict
from pydantic_core import PydanticCustomError

from ecomlake.config.bounds import iso_date, seed_problem

RULE_ERROR_TYPE = "config_rule"
SUM_TOLERANCE = 1e-6


class StrictModel(BaseModel):
    """Base of every YAML section: immutable, and an unknown key (a typo) is an error. The
    validators are built on first use, not at import: a Ray worker only unpickles the config,
    and skipping the build spares each new worker some 40 ms."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


def rule(message: str, *at: str | int) -> PydanticCustomError:
    """Build the error for a broken rule; `at` locates it below the validated field or model."""
    return PydanticCustomError(RULE_ERROR_TYPE, message, {"at": at} if at else None)


def check_sums_to_one(values: Iterable[float], *at: str | int) -> None:
    """Weights must add up to 1 so they can be used as probabilities without renormalising."""
    total = math.fsum(values)
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise rule(f"must sum to 1 (got {total:.6g})", *at)


def _scalar(check: Callable[[float], bool], text: str) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if not math.isfinite(value):  # .inf or .nan in YAML: "must not be negative" misled
            raise rule(f"must be a finite number, got {value}")
        if not check(value):
            raise rule(text)
        return value

    return validate


def _plain(kind: type) -> BeforeValidator:
    """A numpy number (a dict config built in a notebook) as the Python number it stands for;
    anything else is left to the strict check."""

    def convert(value: Any) -> Any:
        if isinstance(value, bool):  # an Integral too, but never a count
            return value
        if kind is int and isinstance(value, numbers.Integral):
            return int(value)
        if kind is float and isinstance(value, numbers.Real):
            return float(value)
        return value

    return BeforeValidator(convert)


def _number(kind: type, check: Callable[[float], bool], text: str) -> Any:
    """A number of `kind` that passes `check`. Strict: YAML's `true`, `yes` or "0.5" is not a
    number (lax parsing made `true` a 1, silently); a numpy number is the one it stands for."""
    return Annotated[kind, Strict(), _plain(kind), AfterValidator(_scalar(check, text))]


Probability = _number(float, lambda v: 0 <= v <= 1, "must be between 0 and 1")
Percent = _number(float, lambda v: 0 <= v <= 100, "must be between 0 and 100")
NonNegFloat = _number(float, lambda v: v >= 0, "must not be negative")
PositiveFloat = _number(float, lambda v: v > 0, "must be greater than 0")
NonNegInt = _number(int, lambda v: v >= 0, "must not be negative")
PositiveInt = _number(int, lambda v: v >= 1, "must be at least 1")


def _pair(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return value
    raise rule("must be a pair [low, high]")


def _ordered(pair: tuple[float, float]) -> tuple[float, float]:
    if pair[0] > pair[1]:
        raise rule("must be ordered [low, high]")
    return pair


def _both(check: Callable[[float], bool], text: str) -> AfterValidator:
    def validate(pair: tuple[Any, Any]) -> tuple[Any, Any]:
        if not all(math.isfinite(v) and check(v) for v in pair):
            raise rule(text)
        return pair

    return AfterValidator(validate)


# Ranges are validated `[low, high]` pairs; they stay tuples so callers can unpack them.
IntRange = Annotated[tuple[int, int], BeforeValidator(_pair), AfterValidator(_ordered)]
NonNegIntRange = Annotated[IntRange, _both(lambda v: v >= 0, "values must not be negative")]
PositiveIntRange = Annotated[IntRange, _both(lambda v: v >= 1, "values must be at least 1")]
MAX_CART_LINES = 1000  # the plan holds every line of every cart: 10**9 would ask for 100+ GiB
CART_LINES_RULE = f"values must be 1 to {MAX_CART_LINES}"


def cart_lines_ok(count: float) -> bool:
    return 1 <= count <= MAX_CART_LINES


CartLines = Annotated[IntRange, _both(cart_lines_ok, CART_LINES_RULE)]
FloatRange = Annotated[tuple[float, float], BeforeValidator(_pair), AfterValidator(_ordered)]
UnitRange = Annotated[FloatRange, _both(lambda v: 0 <= v <= 1, "values must be between 0 and 1")]
FractionRange = Annotated[
    FloatRange, _both(lambda v: 0 < v <= 1, "values must be greater than 0 and at most 1")
]


def _distribution(weights: dict[str, float]) -> dict[str, float]:
    check_sums_to_one(weights.values())
    return weights


def _weights(weights: list[float]) -> list[float]:
    check_sums_to_one(weights)
    return weights


def _non_empty_unique(names: list[str]) -> list[str]:
    if not names:
        raise rule("must list at least one entry")
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise rule(f"must not repeat {name!r}", index)
        seen.add(name)
    return names


# Categorical weights keyed by label, in YAML order (the order fixes which label a draw maps to).
Distribution = Annotated[dict[str, NonNegFloat], AfterValidator(_distribution)]
Weights = Annotated[list[NonNegFloat], AfterValidator(_weights)]
NonNegMap = dict[str, NonNegFloat]
Names = Annotated[list[str], AfterValidator(_non_empty_unique)]


def _as_month(key: Any) -> int | None:
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    if isinstance(key, int) and not isinstance(key, bool) and 1 <= key <= 12:
        return key
    return None


def _month_keys(value: Any) -> Any:
    """YAML may write months as 7 or '7'; both mean July."""
    if not isinstance(value, dict):
        return value
    months: dict[int, Any] = {}
    for key, factor in value.items():
        month = _as_month(key)
        if month is None:
            raise rule(f"month keys must be whole numbers from 1 to 12 (got {key!r})")
        if month in months:
            raise rule(f"month {month} is listed twice")
        months[month] = factor
    return months


MonthFactors = Annotated[dict[int, NonNegFloat], BeforeValidator(_month_keys)]


def _iso_date(value: Any) -> date:
    parsed = iso_date(value)
    if parsed is None:
        raise rule(f"invalid date {value!r}")
    return parsed


# Only YYYY-MM-DD is accepted, so a date never silently means something else (no epoch numbers).
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _seed(value: Any) -> Any:
    problem = seed_problem(value)
    if problem:
        raise rule(problem)
    return int(value)  # a numpy integer in a dict config too


# Checked before pydantic's coercion, which would take `true` as 1 and "7" as 7.
Seed = Annotated[int, BeforeValidator(_seed)]
