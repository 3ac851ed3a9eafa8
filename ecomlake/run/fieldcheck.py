"""Type checks of an options dataclass's fields (GenerateOptions, RawRunOptions), run when one is
built: a library caller's wrong type is a one-line OptionError naming the field, not a TypeError
deep inside a run, and the obvious conversions are made (a path-like target becomes text, ISO
text a date, None storage options {}). The CLI builds the same classes, so it shares them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ecomlake.config.bounds import iso_date, seed_problem
from ecomlake.errors import OptionError

_DATE = "a date like datetime.date(2024, 1, 5) or '2024-01-05'"


class FieldCheck:
    """Checks the fields of the frozen dataclass `options`, whose errors name `owner`'s fields."""

    def __init__(self, owner: str, options: object) -> None:
        self.owner, self.options = owner, options

    def path(self, *fields: str) -> None:
        """Text naming a folder or URI; an os.PathLike (pathlib.Path) is converted."""
        for field in fields:
            self._set(field, path_text(self.owner, field, self._get(field)))

    def text(self, *fields: str, optional: bool = False) -> None:
        """Text (or None when `optional`)."""
        for field in fields:
            value = self._get(field)
            if not (isinstance(value, str) or (optional and value is None)):
                self._fail(field, "text" + (" or None" if optional else ""))

    def texts(self, *fields: str) -> None:
        """A list or tuple of text (kept as a tuple): a lone string would be its characters."""
        for field in fields:
            value = self._get(field)
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                self._fail(field, "a list of text")
            self._set(field, tuple(value))

    def flag(self, *fields: str) -> None:
        """True or False."""
        for field in fields:
            if not isinstance(self._get(field), bool):
                self._fail(field, "True or False")

    def whole(self, *fields: str) -> None:
        """A whole number or None (not a bool, not text)."""
        for field in fields:
            value = self._get(field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                self._fail(field, "a whole number or None")

    def count(self, *fields: str) -> None:
        """A whole number of at least 1, or None (a count of workers, customers a block)."""
        self.whole(*fields)
        for field in fields:
            value = self._get(field)
            if value is not None and value < 1:
                rule = f"{{{field}}}: must be at least 1, got {value}"
                raise OptionError(self.owner, rule, field)

    def number(self, *fields: str) -> None:
        """A number (int or float, not a bool)."""
        for field in fields:
            value = self._get(field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                self._fail(field, "a number")

    def seed(self, field: str) -> None:
        """None or a root seed (bounds.seed_problem, the YAML's faker_seed rule)."""
        value = self._get(field)
        problem = None if value is None else seed_problem(value)
        if problem:
            raise OptionError(self.owner, f"{{{field}}}: {problem}", field)
        if value is not None:
            self._set(field, int(value))  # a numpy integer becomes the int it stands for

    def date(self, *fields: str) -> None:
        """None or a date; YYYY-MM-DD text is converted (bounds.iso_date)."""
        for field in fields:
            value = self._get(field)
            if value is not None:
                self._set(field, self._date(field, value))

    def dates(self, field: str) -> None:
        """A list or tuple of dates (kept as a tuple); YYYY-MM-DD text is converted."""
        value = self._get(field)
        if not isinstance(value, list | tuple):
            self._fail(field, f"a list of dates (each {_DATE})")
        self._set(field, tuple(self._date(field, day) for day in value))

    def mapping(self, field: str) -> None:
        """A dict with text keys (kept as a copy); None is {}."""
        value = self._get(field)
        if value is not None and not isinstance(value, Mapping):
            self._fail(field, "a dict or None")
        if value and not all(isinstance(key, str) for key in value):
            self._fail(field, "a dict whose keys are text")
        self._set(field, dict(value or {}))

    def instance(self, field: str, kind: type, example: str = "") -> None:
        """An instance of `kind`; None is `kind()`, its defaults."""
        value = self._get(field)
        if value is None:
            self._set(field, kind())
        elif not isinstance(value, kind):
            self._fail(field, f"a {kind.__name__}" + (f", e.g. {example}" if example else ""))

    def _date(self, field: str, value: Any) -> Any:
        date = iso_date(value)
        if date is None:
            self._fail(field, _DATE, value)
        return date

    def _get(self, field: str) -> Any:
        return getattr(self.options, field)

    def _set(self, field: str, value: Any) -> None:
        object.__setattr__(self.options, field, value)  # the dataclass is frozen

    def _fail(self, field: str, expected: str, value: Any = ...) -> None:
        shown = repr(self._get(field) if value is ... else value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise OptionError(self.owner, f"{{{field}}}: expected {expected}, got {shown}", field)


def path_text(owner: str, field: str, value: object) -> str:
    """A lake's folder or URI as text: an os.PathLike (pathlib.Path, what the pytest plugin's
    lakes are) is converted; anything else not text is an error naming `owner`'s `field`."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        rule = f"{{{field}}}: expected a path or URI as text or pathlib.Path, got {value!r:.60}"
        raise OptionError(owner, rule, field)
    return value
