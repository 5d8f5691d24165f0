"""Publishing one issued period: per invoice, customer -> draft -> one item per line -> finalize.

Every step first asks what already exists (publications, then Stripe lists by metadata), so a re-run
after a crash at any point, even after Stripe forgot our idempotency keys, finishes the invoice
without a second customer, invoice or item. Each Stripe write carries a deterministic key (keys.py),
so a retry of a write whose answer was lost replays the first answer. A finalized invoice is never
touched again.

What can be repaired is: a recorded draft that no longer exists in Stripe (deleted in the
dashboard, lost by a test server) is created again, under a new key, and its items with it. What
cannot is left to the blocking check (reconcile.py): a finalized invoice that vanished. A period is
published into one Stripe account only: a run whose key reaches another account is refused.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import duckdb
import stripe

from billing_pipeline.lib.publish.schema import ensure_publish_schema
from billing_pipeline.lib.publish import publications
from billing_pipeline.lib.publish.customers import Account, CustomerDirectory, PublishRefused, load_accounts
from billing_pipeline.lib.publish.issued import (IssuedInvoice, PeriodNotIssued, is_issued, load_issued_invoices,
                                                 unix_start_of)
from billing_pipeline.lib.publish.keys import idempotency_key
from billing_pipeline.lib.publish.reconcile import balance_applied
from billing_pipeline.lib.publish.stripe_resource import StripeTarget

ZeroTotalPolicy = Literal["skip", "publish"]
ZERO_TOTAL_POLICIES: tuple[str, ...] = ("skip", "publish")
STEPS = ("customer", "invoice", "item", "finalize")

# Called as (invoice_id, step, phase) once Stripe answered a step ("sent") and once the publication
# holds it ("recorded"); raising from it is how tests crash a run between any two writes.
StepHook = Callable[[str, str, str], None]


class OtherStripeAccount(ValueError):
    """The period's invoices were published to another Stripe account than this run reaches."""


@dataclass
class PeriodOutcome:
    period: str
    statuses: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    repaired: dict[str, str] = field(default_factory=dict)  # invoice id -> what was created again

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses.values() if s == status)

    @property
    def failed(self) -> dict[str, str]:
        return {i: self.errors[i] for i, s in self.statuses.items() if s in ("failed", "integrity_error")}


def publish_period(con: duckdb.DuckDBPyConnection, client: stripe.StripeClient, period: str, target: StripeTarget,
                   zero_total: ZeroTotalPolicy = "skip", on_step: StepHook | None = None) -> PeriodOutcome:
    """Publish every issued invoice of `period` to `target` (the account `client` reaches); a failed
    invoice is recorded and the rest go on."""
    if zero_total not in ZERO_TOTAL_POLICIES:
        raise ValueError(f"zero_total must be one of {ZERO_TOTAL_POLICIES}, got {zero_total!r}")
    ensure_publish_schema(con)
    if not is_issued(con, period):
        raise PeriodNotIssued(f"{period} is not in fct_issued_periods: it has not been closed with every blocking "
                              "check passing, so nothing of it may be published")
    _refuse_another_account(con, period, target)
    outcome = PeriodOutcome(period)
    run = _Run(con, client, target, CustomerDirectory(client), load_accounts(con), zero_total, on_step or _no_hook,
               outcome.repaired)
    for invoice in load_issued_invoices(con, period):
        status, error = run.publish(invoice)
        outcome.statuses[invoice.invoice_id] = status
        if error:
            outcome.errors[invoice.invoice_id] = error
    return outcome


def _refuse_another_account(con: duckdb.DuckDBPyConnection, period: str, target: StripeTarget) -> None:
    others = [t for t in publications.stripe_accounts(con, period) if t.account_id != target.account_id]
    if others:
        raise OtherStripeAccount(
            f"{period} was published to {', '.join(t.describe() for t in others)}; this run reaches "
            f"{target.describe()}: refusing to publish the period into a second account (configure the key of the "
            "first; a local test server's account lives in its state folder)")


def _no_hook(invoice_id: str, step: str, phase: str) -> None:
    pass


@dataclass
class _Run:
    con: duckdb.DuckDBPyConnection
    client: stripe.StripeClient
    target: StripeTarget
    customers: CustomerDirectory
    accounts: dict[str, Account]
    zero_total: ZeroTotalPolicy
    hook: StepHook
    repaired: dict[str, str]

    def publish(self, invoice: IssuedInvoice) -> tuple[str, str | None]:
        known = publications.publication(self.con, invoice.invoice_id)
        if known and known.content_hash != invoice.content_hash:
            if known.status != "integrity_error":
                publications.mark_integrity_error(self.con, invoice, known.content_hash)
            return "integrity_error", "issued content changed after publication"
        if known and known.status in publications.SETTLED:
            return known.status, None
        if invoice.total_cents == 0 and self.zero_total == "skip" and not (known and known.stripe_invoice_id):
            publications.start_attempt(self.con, invoice, self.target)
            publications.record(self.con, invoice.invoice_id, "skipped_zero")
            return "skipped_zero", None
        publications.start_attempt(self.con, invoice, self.target)
        try:
            self._publish(invoice, known)
        except (stripe.StripeError, PublishRefused) as error:
            message = _message(error)
            publications.record(self.con, invoice.invoice_id, "failed", last_error=message)
            return "failed", message
        return "finalized", None

    def _step_done(self, invoice: IssuedInvoice, step: str, status: str | None, **fields: object) -> None:
        self.hook(invoice.invoice_id, step, "sent")
        if status:
            publications.record(self.con, invoice.invoice_id, status, **fields)
        self.hook(invoice.invoice_id, step, "recorded")

    def _publish(self, invoice: IssuedInvoice, known: publications.Publication | None) -> None:
        customer_id = known.stripe_customer_id if known and known.stripe_customer_id else None
        if customer_id is None:
            customer_id = self.customers.customer_id(self._account(invoice.account_id))
            self._step_done(invoice, "customer", "customer_ready", stripe_customer_id=customer_id)
        draft = self._draft(invoice, customer_id, known)
        if draft.status == "draft":
            self._add_items(invoice, customer_id, draft.id)
            draft = self.client.v1.invoices.finalize_invoice(
                draft.id, {"auto_advance": False},
                {"idempotency_key": idempotency_key(invoice.invoice_id, "finalize", invoice.content_hash, draft.id)})
            self.hook(invoice.invoice_id, "finalize", "sent")
        publications.record(self.con, invoice.invoice_id, "finalized", stripe_invoice_number=draft.number,
                            hosted_invoice_url=draft.hosted_invoice_url, amount_due_cents=draft.amount_due,
                            balance_applied_cents=balance_applied(self.client, draft), finalized_at=publications.now())
        self.hook(invoice.invoice_id, "finalize", "recorded")

    def _account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise PublishRefused(f"account {account_id} is not in catalog.accounts")
        return account

    def _draft(self, invoice: IssuedInvoice, customer_id: str,
               known: publications.Publication | None) -> stripe.Invoice:
        """The Stripe invoice for this issued invoice: recorded, found by metadata, or created."""
        recorded = known.stripe_invoice_id if known else None
        replaced = known.drafts_recreated if known else 0
        existing = self._recorded(recorded) if recorded else None
        if recorded and existing is None:
            # Not finalized as far as the publications know (a finalized invoice is settled and never looked
            # up again), so a draft went away: deleted in the dashboard, or lost by a test server.
            replaced = publications.forget_draft(self.con, invoice.invoice_id)
            self.repaired[invoice.invoice_id] = f"draft {recorded} no longer existed in Stripe; created again"
            recorded = None
        if existing is None:
            existing = self._find_invoice(customer_id, invoice.invoice_id)
        if existing is not None:
            recorded_hash = metadata_of(existing).get("content_hash", "?")
            if recorded_hash != invoice.content_hash:
                raise PublishRefused(f"Stripe invoice {existing.id} for {invoice.invoice_id} carries other content "
                                     f"(hash {recorded_hash[:16]}); not touched")
            if not recorded:
                publications.record(self.con, invoice.invoice_id, "draft_created", stripe_invoice_id=existing.id)
            return existing
        # A replacement draft needs its own key: the first one would replay the vanished draft.
        created = self.client.v1.invoices.create(
            {"customer": customer_id, "auto_advance": False, "pending_invoice_items_behavior": "exclude",
             "currency": invoice.currency, "description": f"Usage and subscription fees, {invoice.period}",
             "metadata": {"account_id": invoice.account_id, "period": invoice.period,
                          "invoice_id": invoice.invoice_id, "content_hash": invoice.content_hash}},
            {"idempotency_key": idempotency_key(invoice.invoice_id, "invoice", invoice.content_hash,
                                                f"replacement {replaced}" if replaced else None)})
        self._step_done(invoice, "invoice", "draft_created", stripe_invoice_id=created.id)
        return created

    def _recorded(self, stripe_invoice_id: str) -> stripe.Invoice | None:
        try:
            return self.client.v1.invoices.retrieve(stripe_invoice_id)
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                return None
            raise

    def _find_invoice(self, customer_id: str, invoice_id: str) -> stripe.Invoice | None:
        for candidate in self.client.v1.invoices.list({"customer": customer_id, "limit": 100}).auto_paging_iter():
            if metadata_of(candidate).get("invoice_id") == invoice_id:
                return candidate
        return None

    def _items_on(self, stripe_invoice_id: str) -> Iterator[stripe.InvoiceItem]:
        return self.client.v1.invoice_items.list({"invoice": stripe_invoice_id, "limit": 100}).auto_paging_iter()

    def _add_items(self, invoice: IssuedInvoice, customer_id: str, stripe_invoice_id: str) -> None:
        present = {metadata_of(item).get("line_id"): item for item in self._items_on(stripe_invoice_id)}
        for line in invoice.lines:
            item = present.get(line.line_id)
            if item is None:
                start = line.usage_start or invoice.period_start
                end = line.usage_end or invoice.period_end
                item = self.client.v1.invoice_items.create(
                    {"customer": customer_id, "invoice": stripe_invoice_id, "amount": line.amount_cents,
                     "currency": invoice.currency, "description": line.stripe_description(invoice.period),
                     "period": {"start": unix_start_of(start), "end": unix_start_of(end)},
                     "metadata": {"invoice_id": invoice.invoice_id, "line_id": line.line_id}},
                    # Keyed by draft too: a replacement draft's items are new requests.
                    {"idempotency_key": idempotency_key(invoice.invoice_id, "item", invoice.content_hash,
                                                        f"{stripe_invoice_id}:{line.line_id}")})
                self.hook(invoice.invoice_id, "item", "sent")
            publications.record_item(self.con, invoice.invoice_id, line.line_id, item.id, line.amount_cents)
            self.hook(invoice.invoice_id, "item", "recorded")
        publications.record(self.con, invoice.invoice_id, "items_added")


def metadata_of(obj: stripe.StripeObject) -> dict[str, str]:
    return obj.metadata.to_dict() if obj.metadata else {}


def _message(error: Exception) -> str:
    if isinstance(error, stripe.StripeError):
        return error.user_message or str(error) or type(error).__name__
    return str(error)
