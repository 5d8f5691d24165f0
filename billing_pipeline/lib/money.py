"""Money for people: integer minor units in, exact decimal text out. Never float arithmetic."""

from decimal import ROUND_HALF_UP, Decimal

import polars as pl


def to_major(minor: int, exponent: int) -> Decimal:
    return Decimal(int(minor)).scaleb(-exponent)


def amount_text(minor: int, exponent: int) -> str:
    """Plain decimal string for CSVs and journals: -1234.50, never grouped."""
    return f"{to_major(minor, exponent):.{exponent}f}"


def money_text(minor: int, exponent: int, currency: str) -> str:
    """Grouped, with the currency code: 1,234.50 USD."""
    return f"{to_major(minor, exponent):,.{exponent}f} {currency.upper()}"


def round_to_minor(amount: Decimal, exponent: int) -> int:
    """Half-up rounding to the minor unit, as rating rounds each line."""
    return int(amount.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def decimal_text(value: Decimal | None) -> str:
    """A quantity or unit price without trailing zeros: 0.000500000 -> 0.0005, 12000.000000 -> 12,000."""
    if value is None:
        return ""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return f"{normal:,.{-exponent if exponent < 0 else 0}f}"


def amount_column(column: str, exponent: int) -> pl.Expr:
    """The decimal string of an integer minor-unit column, built from integer parts (exact, vectorised)."""
    cents = pl.col(column)
    if exponent == 0:
        return cents.cast(pl.String)
    unit = 10 ** exponent
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (cents.abs() // unit).cast(pl.String)
    fraction = (cents.abs() % unit).cast(pl.String).str.zfill(exponent)
    return pl.concat_str([sign, whole, pl.lit("."), fraction])


def exact_text(value: Decimal, exponent: int) -> str:
    """An unrounded amount with at least the currency's decimals: 6 -> 6.00, 0.0015 -> 0.0015."""
    normal = value.normalize()
    places = max(exponent, -normal.as_tuple().exponent)
    return f"{normal:,.{places}f}"
