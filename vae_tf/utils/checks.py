"""Checks of settings and arguments, shared by configs, models, data sources and flags.

A check is a small object: called with a name and a value, it returns the
value or raises ValueError saying what the setting accepts; `flag_bounds()`
gives the absl bounds that say the same at the command line. `TrainConfig`'s
fields carry theirs, so each bound is written once.

Example:

>>> Integer(minimum=1)("epochs", 0)
Traceback (most recent call last):
ValueError: epochs must be an integer >= 1; got 0.
"""

import dataclasses
import math
import numbers
from typing import Optional


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Integer:
    """An integer `>= minimum`; `note` explains a special value (e.g. "0: off")."""

    minimum: int = 1
    note: str = ""
    optional: bool = False

    def __call__(self, name, value):
        if value is None and self.optional:
            return value
        if not (_is_integer(value) and value >= self.minimum):
            what = "a positive integer" if self.minimum == 1 else f"an integer >= {self.minimum}"
            none = "None or " if self.optional else ""
            note = f" ({self.note})" if self.note else ""
            raise ValueError(f"{name} must be {none}{what}{note}; got {value!r}.")
        return value

    def flag_bounds(self):
        return {"lower_bound": self.minimum}


@dataclasses.dataclass(frozen=True)
class Number:
    """A finite number in a range: `low` (inclusive unless `low_open`) to `high`."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    note: str = ""

    def describe(self):
        if self.low is not None and self.high is not None:
            return (
                f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.high_open else ']'}"
            )
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return "a finite number"

    def accepts(self, value):
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def __call__(self, name, value):
        if value is None and self.optional:
            return value
        if not self.accepts(value):
            # An optional number's note says what None means ("None: off").
            note = f" ({self.note})" if self.note else " or None" if self.optional else ""
            raise ValueError(f"{name} must be {self.describe()}{note}; got {value!r}.")
        return float(value)

    def flag_bounds(self):
        # absl's bounds are inclusive; open bounds are checked by the validator.
        bounds = {}
        if self.low is not None and not self.low_open:
            bounds["lower_bound"] = self.low
        if self.high is not None and not self.high_open:
            bounds["upper_bound"] = self.high
        return bounds


@dataclasses.dataclass(frozen=True)
class OneOf:
    """One of `choices` (the absl flag is an enum of them); `description` words them."""

    choices: tuple
    optional: bool = False
    description: str = ""

    def __call__(self, name, value):
        if value is None and self.optional:
            return value
        # True == 1: a choice matches only a value of its own kind (bool or not).
        if not any(
            value == choice and isinstance(value, bool) == isinstance(choice, bool)
            for choice in self.choices
        ):
            what = self.description or f"one of {tuple(self.choices)}"
            raise ValueError(f"{name} must be {what}; got {value!r}.")
        return value

    def flag_bounds(self):
        return {}


def check_positive_int(name, value):
    """Raises ValueError unless `value` is an integer >= 1 (bools are not)."""
    return Integer(minimum=1)(name, value)
