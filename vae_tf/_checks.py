"""Argument checks shared by the library's public entry points."""

import numbers


def check_positive_int(name, value):
    """Raises ValueError unless `value` is an integer >= 1 (bools are not)."""
    if not (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    ):
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
