"""What a period's publication sends: its issued invoices and lines, frozen by the monthly close.

Issued invoices (fct_issued_*) never change once a period is in fct_issued_periods, so the content
hash of an invoice is fixed too; a different hash later means the issued tables were tampered with
or rebuilt, which the publisher refuses to paper over.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal

import duckdb

from billing_pipeline.lib.warehouse import relation_exists


class PeriodNotIssued(ValueError):
    """The period has no row in fct_issued_periods: it is open, failed its checks, or was never rated."""


@dataclass(frozen=True)
class IssuedLine:
    line_id: str
    line_number: int
    line_type: str
    amount_cents: int
    description: str
    metric: str | None
    unit: str | None
    quantity: Decimal | None
    included_quantity: Decimal | None
    billable_quantity: Decimal | None
    usage_start: date | None
    usage_end: date | None  # exclusive

    def stripe_description(self, period: str) -> str:
        """What the customer reads on the invoice: the charge, how much was used, and when."""
        text = self.description
        if self.line_type == "usage" and self.quantity is not None and self.unit:
            text += f": {_amount_of(self.billable_quantity, self.unit)} billable"
            if self.included_quantity:
                text += f" ({_number(self.quantity)} used, {_number(self.included_quantity)} included)"
        if self.usage_start and self.usage_end:
            last_day = date.fromordinal(self.usage_end.toordinal() - 1)
            return f"{text}, {self.usage_start:%b %-d} - {last_day:%b %-d %Y}"
        return f"{text}, {period}"


@dataclass(frozen=True)
class IssuedInvoice:
    invoice_id: str
    account_id: str
    period: str
    currency: str
    total_cents: int
    period_start: date
    period_end: date  # exclusive
    lines: tuple[IssuedLine, ...]

    @property
    def content_hash(self) -> str:
        # Only the fields a customer is billed on: columns added to the issued tables later change nothing.
        content = {
            "invoice_id": self.invoice_id, "account_id": self.account_id, "period": self.period,
            "currency": self.currency, "total_cents": self.total_cents,
            "lines": [[line.line_id, line.line_type, line.amount_cents, line.description,
                       _hashed_quantity(line.billable_quantity), str(line.usage_start), str(line.usage_end)]
                      for line in self.lines],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _hashed_quantity(value: Decimal | None) -> str:
    """A quantity as the ledger held it with 6 decimal places, as long as it fits them: widening the
    ledger's quantities to 9 places (dbt_project/macros/migrations.sql) changes no invoice's hash."""
    if value is None:
        return "None"
    six_places = f"{value:.6f}"
    return six_places if Decimal(six_places) == value else str(value)


def issued_periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every issued period, oldest first (none before the first close created the table)."""
    if not relation_exists(con, "main", "fct_issued_periods"):
        return []
    return [period for (period,) in con.execute("SELECT period FROM fct_issued_periods ORDER BY period").fetchall()]


def is_issued(con: duckdb.DuckDBPyConnection, period: str) -> bool:
    return period in issued_periods(con)


def load_issued_invoices(con: duckdb.DuckDBPyConnection, period: str) -> list[IssuedInvoice]:
    invoices = con.execute(
        """SELECT invoice_id, account_id, period, currency, total_cents, period_start, period_end
           FROM fct_issued_invoices WHERE period = ? ORDER BY invoice_id""", [period]).fetchall()
    lines: dict[str, list[IssuedLine]] = {}
    for invoice_id, *fields in con.execute(
        """SELECT l.invoice_id, l.line_id, l.line_number, l.line_type, l.amount_cents, l.description, l.metric,
                  m.unit, l.quantity, l.included_quantity, l.billable_quantity, l.usage_start, l.usage_end
           FROM fct_issued_invoice_lines AS l
           LEFT JOIN catalog.metrics AS m ON m.metric_code = l.metric
           WHERE l.period = ? ORDER BY l.invoice_id, l.line_number""", [period]).fetchall():
        lines.setdefault(invoice_id, []).append(IssuedLine(*fields))
    return [IssuedInvoice(*row, lines=tuple(lines.get(row[0], ()))) for row in invoices]


def unix_start_of(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp())


def _number(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _amount_of(value: Decimal | None, unit: str) -> str:
    value = value or Decimal(0)
    return f"{_number(value)} {unit if value == 1 else unit + 's'}"
