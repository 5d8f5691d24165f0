"""How each statement line's amount comes about, written on the line so it adds up on its own face.

A usage line reads: quantity - refused over a hard limit - included = billable, then billable
priced by the charge's model = amount. "Included" is the part of the allowance the line used, so the
subtraction holds as written; a line within its allowance says how much of it was used. Other lines show their working: the base fee
prorated by days, the minimum less the segment's charges, the discount's percent of the charges,
the credit applied out of what was available, the re-rated period less what it was invoiced.

The working uses the catalog as it is now (prices, limits, percents), so each one is redone here
exactly and shown only when it gives the issued amount; a line priced under a catalog that has
changed since says so instead of showing a working that does not add up.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

from billing_pipeline.lib.money import decimal_text, exact_text, round_to_minor, to_major

REPRICED = "priced under an earlier catalog"
NOT_BILLED_IN_TRIAL = "not billed in trial"


@dataclass(frozen=True)
class Working:
    """What a statement line shows besides its own quantities and amount."""

    refused_quantity: Decimal | None = None  # usage over a hard limit: refused, never billed
    limit_quantity: Decimal | None = None  # the hard limit that refused it
    calculation: str = ""
    included_quantity: Decimal | None = None  # of a usage line: the part of its allowance it used


def capped(line: dict) -> tuple[Decimal | None, Decimal | None]:
    """(refused, limit) of a usage line. Rating bills max(min(quantity, hard limit) - included, 0): when
    that is positive, the capped quantity is included + billable exactly; otherwise the limit is read
    from the catalog, and it must leave nothing billable, as the line says."""
    quantity, included, billable = line["quantity"], line["included_quantity"], line["billable_quantity"]
    if billable > 0:
        kept = included + billable
    elif line["enforcement"] == "hard" and line["usage_limit"] is not None and line["usage_limit"] <= included:
        kept = min(quantity, line["usage_limit"])
    else:
        kept = quantity
    if kept >= quantity:
        return None, None
    return quantity - kept, kept


def _count(quantity: Decimal, unit: str | None) -> str:
    return f"{decimal_text(quantity)} {unit}s" if unit and quantity != 1 else f"{decimal_text(quantity)} {unit or ''}".strip()


class Calculator:
    """The working of each line of one period's statements."""

    def __init__(self, exponent: int, days_in_period: int, credit_balances: list[dict]) -> None:
        self.exponent = exponent
        self.days_in_period = days_in_period
        self.credits = {(row["account_id"], row["grant_id"]): row for row in credit_balances}

    def money(self, minor: int) -> str:
        return exact_text(to_major(minor, self.exponent), self.exponent)

    def price(self, value: Decimal) -> str:
        return exact_text(value, self.exponent)

    def _agrees(self, amount: Decimal, line: dict) -> bool:
        """The exact amount rounds as rating rounds to the issued one (0 for a trial line)."""
        return (0 if line["is_trial"] else round_to_minor(amount, self.exponent)) == line["amount_cents"]

    def _trial(self, text: str, line: dict) -> str:
        return f"{text}, {NOT_BILLED_IN_TRIAL}" if line["is_trial"] else text

    def usage(self, line: dict, has_tiers: bool) -> Working:
        refused, limit = capped(line)
        used = min(line["included_quantity"], line["quantity"] - (refused or 0))
        return replace(self._usage(line, has_tiers, refused, limit, used), included_quantity=used)

    def _usage(self, line: dict, has_tiers: bool, refused: Decimal | None, limit: Decimal | None,
               used: Decimal) -> Working:
        billable, model, allowance = line["billable_quantity"], line["charge_model"], line["included_quantity"]
        if billable == 0:
            return Working(refused, limit, f"{decimal_text(used)} of {decimal_text(allowance)} included used"
                           if used < allowance else "nothing billable")
        if model == "per_unit" and line["unit_price"] is not None:
            amount, text = billable * line["unit_price"], f"{decimal_text(billable)} × {self.price(line['unit_price'])}"
        elif model == "package" and line["package_size"]:
            packages = (billable / line["package_size"]).to_integral_value(rounding=ROUND_CEILING)
            amount = packages * line["package_price"]
            text = (f"{_count(packages, 'package')} of {decimal_text(line['package_size'])} "
                    f"× {self.price(line['package_price'])}")
        elif model == "flat" and line["flat_fee"] is not None:
            amount, text = line["flat_fee"], f"flat fee {self.price(line['flat_fee'])}"
        elif model in ("graduated", "volume") and has_tiers:
            return Working(refused, limit, f"{model} tiers, below")
        elif line["is_trial"]:  # tiers are shown for billed lines only; a trial line bills 0 either way
            return Working(refused, limit, NOT_BILLED_IN_TRIAL)
        else:
            return Working(refused, limit, REPRICED)
        return Working(refused, limit, self._trial(text, line) if self._agrees(amount, line) else REPRICED)

    def _prorated(self, monthly: Decimal, line: dict) -> tuple[Decimal, str]:
        days = (line["usage_end"] - line["usage_start"]).days
        if days == self.days_in_period:
            return monthly, f"{self.price(monthly)} a month"
        return monthly * days / self.days_in_period, f"{self.price(monthly)} × {days}/{self.days_in_period} days"

    def base_fee(self, line: dict) -> Working:
        if line["base_fee"] is None:
            return Working(calculation=REPRICED)
        amount, text = self._prorated(line["base_fee"], line)
        return Working(calculation=self._trial(text, line) if self._agrees(amount, line) else REPRICED)

    def minimum(self, line: dict, segment_charges: int) -> Working:
        """The true-up tops the segment's charges (base fee and usage) up to its prorated minimum."""
        if line["minimum_charge"] is None:
            return Working(calculation=REPRICED)
        exact, text = self._prorated(line["minimum_charge"], line)
        minimum = round_to_minor(exact, self.exponent)
        if minimum - segment_charges != line["amount_cents"]:
            return Working(calculation=REPRICED)
        shown = text if exact == to_major(minimum, self.exponent) else f"{text} = {self.money(minimum)}"
        return Working(calculation=f"minimum {shown} − charges {self.money(segment_charges)}")

    def discount(self, line: dict, charges: int) -> Working:
        percent = line["discount_percent"]
        if percent is None or round_to_minor(to_major(charges, self.exponent) * percent / 100, self.exponent) != -line["amount_cents"]:
            return Working(calculation=REPRICED)
        return Working(calculation=f"{decimal_text(percent)}% of charges {self.money(charges)}")

    def credit(self, line: dict) -> Working:
        balance = self.credits.get((line["account_id"], line["grant_id"]))
        if balance is None or balance["consumed_cents"] != -line["amount_cents"]:
            return Working(calculation=REPRICED)
        available = balance["opening_cents"] + balance["granted_cents"]
        return Working(calculation=f"{self.money(balance['consumed_cents'])} of {self.money(available)} available, "
                                   f"{self.money(available - balance['consumed_cents'])} left")

    def adjustment(self, line: dict) -> Working:
        """Late events re-rate an issued period: the line is its new worth less what it was invoiced."""
        invoiced = line["invoiced_before_cents"]
        return Working(calculation=f"{line['adjusts_period']} re-rated {self.money(invoiced + line['amount_cents'])} "
                                   f"− invoiced {self.money(invoiced)}")


def workings(lines: list[dict], tiered_lines: set[str], calculator: Calculator) -> dict[str, Working]:
    """The working of every line of one invoice, by line_id."""
    charges = sum(l["amount_cents"] for l in lines if l["line_type"] in ("base_fee", "usage", "minimum"))
    by_segment: dict[str, int] = {}
    for l in lines:
        if l["line_type"] in ("base_fee", "usage"):
            by_segment[l["segment_id"]] = by_segment.get(l["segment_id"], 0) + l["amount_cents"]
    result = {}
    for l in lines:
        kind = l["line_type"]
        if kind == "usage":
            result[l["line_id"]] = calculator.usage(l, l["line_id"] in tiered_lines)
        elif kind == "base_fee":
            result[l["line_id"]] = calculator.base_fee(l)
        elif kind == "minimum":
            result[l["line_id"]] = calculator.minimum(l, by_segment.get(l["segment_id"], 0))
        elif kind == "discount":
            result[l["line_id"]] = calculator.discount(l, charges)
        elif kind == "credit":
            result[l["line_id"]] = calculator.credit(l)
        else:
            result[l["line_id"]] = calculator.adjustment(l)
    return result
