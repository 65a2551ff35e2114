"""Exact arithmetic for the formulas: a float stands for the decimal it prints as."""

from __future__ import annotations

import functools
from decimal import Decimal
from fractions import Fraction

Number = float | int | Decimal | Fraction


def exact(value: Number) -> Fraction:
    """The value as a Fraction; a float as the decimal it was written as (0.1, not
    0.1000000000000000055), so 0.7 + 0.1 is exactly 0.8 and 1 − 0.9999 exactly 0.0001."""
    if isinstance(value, Fraction):
        return value
    return _float(value) if isinstance(value, float) else Fraction(value)


@functools.lru_cache(maxsize=4096)
def _float(value: float) -> Fraction:
    """Objectives and impact ratios come back again and again: parse each once."""
    return Fraction(repr(value))


def to_decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)
