"""Money helpers: decimal text in, integer minor units and decimal strings out.

Money is never a binary float in an output. Inputs are read by their decimal text;
rounding works in integer units of the rule set's `rounding.unit`.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation


def to_decimal(value: object) -> Decimal:
    """Read a money or rate value by its decimal text (str, int, Decimal; floats via repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("a number is expected, not true/false")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not d.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return d
    raise ValueError(f"{value!r} is not a decimal number")


def units_half_even(amount: Decimal, unit: Decimal) -> int:
    """`amount / unit` rounded half to even, as an integer count of units."""
    return int((amount / unit).to_integral_value(rounding=ROUND_HALF_EVEN))


def units_floor(amount: Decimal, unit: Decimal) -> int:
    """The largest whole number of units not above `amount` (caps are floored to units)."""
    return int((amount / unit).to_integral_value(rounding=ROUND_FLOOR))


def unit_places(unit: Decimal) -> int:
    """How many decimal places a multiple of `unit` needs (0.01 -> 2, 1 -> 0, 0.05 -> 2)."""
    exp = unit.normalize().as_tuple().exponent
    return max(0, -int(exp))


def format_units(units: int, unit: Decimal, places: int) -> str:
    """Integer units as a decimal string with `places` decimals, e.g. 123456 -> '1234.56'."""
    value = Decimal(units) * unit
    return f"{value:.{places}f}"


def format_money(amount: Decimal, places: int) -> str:
    """A Decimal already rounded to the unit, as a fixed-point string."""
    return f"{amount:.{places}f}"


def format_float(value: float, places: int = 6) -> str:
    """An unrounded amount (ideal, optimizer value) as a decimal string with `places` decimals."""
    text = f"{value:.{places}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text
