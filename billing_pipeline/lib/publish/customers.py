"""The Stripe customer of each account: the configured id, else the one tagged with the account
id, else a new one.

Lookup is by listing customers and matching metadata.account_id, never by search: Stripe's search
index lags writes by up to an hour, so a re-run soon after a crash would not see the customer it
just created and would create a second one.
"""

from dataclasses import dataclass

import duckdb
import stripe

from billing_pipeline.lib.publish.keys import customer_key


class PublishRefused(Exception):
    """A reason not to publish an invoice that Stripe did not raise itself."""


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str | None
    email: str | None
    stripe_customer_id: str | None

    def customer_fields(self) -> dict[str, str]:
        return {name: value for name, value in (("name", self.name), ("email", self.email)) if value}


def load_accounts(con: duckdb.DuckDBPyConnection) -> dict[str, Account]:
    rows = con.execute("SELECT account_id, name, email, nullif(trim(stripe_customer_id), '') FROM catalog.accounts").fetchall()
    return {row[0]: Account(*row) for row in rows}


class CustomerDirectory:
    """Finds each account's customer; the list of customers is read once per run, on first need."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client
        self._by_account: dict[str, str] | None = None

    def customer_id(self, account: Account) -> str:
        if account.stripe_customer_id:
            return self._configured(account.stripe_customer_id)
        known = self._tagged().get(account.account_id)
        if known:
            return known
        fields = account.customer_fields()
        customer = self._client.v1.customers.create(
            {**fields, "metadata": {"account_id": account.account_id}},  # type: ignore[typeddict-item]
            {"idempotency_key": customer_key(account.account_id, fields)})
        self._tagged()[account.account_id] = customer.id
        return customer.id

    def _configured(self, customer_id: str) -> str:
        customer = self._client.v1.customers.retrieve(customer_id)
        if getattr(customer, "deleted", False):
            raise PublishRefused(f"customer {customer_id} from accounts.csv has been deleted in Stripe")
        return customer.id

    def _tagged(self) -> dict[str, str]:
        if self._by_account is None:
            self._by_account = {}
            # Oldest first, so if two ever carried the same account id, the first one keeps winning.
            listed = list(self._client.v1.customers.list({"limit": 100}).auto_paging_iter())
            for customer in reversed(listed):
                account_id = customer.metadata.to_dict().get("account_id") if customer.metadata else None
                if account_id:
                    self._by_account.setdefault(account_id, customer.id)
        return self._by_account
