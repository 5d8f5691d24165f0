"""Which Stripe we publish to: exactly the one the configuration names, never an implicit one.

`STRIPE_API_KEY` (required) and `STRIPE_API_BASE` (optional; default https://api.stripe.com, the
real API) are read when a step opens a session, never at import. Without a key every Stripe step
is refused with one line saying how to configure it: there is no fallback. A session asks Stripe
which account the key belongs to (GET /v1/account), so each publication records the account, the
mode (live/test, from the key) and the base URL it went to, and a period is never published into
a second account (publisher.py).

The demo asks for the local Stripe-compatible test server (a test-only package, not part of this
product) by running the pipeline under `python -m stripe_local run -- ...`, which sets both variables.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
import stripe
from pydantic import Field

REAL_API_BASE = "https://api.stripe.com"
_MODES = {"sk_live_": "live", "rk_live_": "live", "sk_test_": "test", "rk_test_": "test"}


class StripeNotConfigured(Exception):
    """No usable Stripe configuration: the message is the one line an operator needs."""


@dataclass(frozen=True)
class StripeTarget:
    account_id: str
    mode: str  # live | test: which kind of key
    api_base: str

    def describe(self) -> str:
        return f"Stripe account {self.account_id} ({self.mode} mode, {self.api_base})"

    def metadata(self) -> dict[str, str]:
        """For asset and check metadata: where this step talked to."""
        return {"stripe_account": self.account_id, "stripe_mode": self.mode, "stripe_api_base": self.api_base}


@dataclass(frozen=True)
class StripeSession:
    client: stripe.StripeClient
    target: StripeTarget


def mode_of(api_key: str) -> str | None:
    return next((mode for prefix, mode in _MODES.items() if api_key.startswith(prefix)), None)


class StripeResource(dg.ConfigurableResource):
    api_key_env_var: str = Field(default="STRIPE_API_KEY",
                                 description="Environment variable holding the Stripe secret key (required).")
    api_base_env_var: str = Field(default="STRIPE_API_BASE",
                                  description=f"Environment variable naming the API address; unset = {REAL_API_BASE}.")
    max_network_retries: int = Field(default=4, description="SDK retries of network errors, 409, 429 and 5xx, same key.")

    @contextmanager
    def session(self) -> Iterator[StripeSession]:
        """A client on the configured Stripe, and the account it reaches. Raises StripeNotConfigured."""
        api_key = dg.EnvVar(self.api_key_env_var).get_value()
        if not api_key:
            raise StripeNotConfigured(
                f"{self.api_key_env_var} is not set: publishing to Stripe needs its secret key (sk_live_... or "
                f"sk_test_...; {self.api_base_env_var} names another API address). For the local test server, "
                "run under `python -m stripe_local run -- ...` as `make demo` does.")
        mode = mode_of(api_key)
        if mode is None:
            raise StripeNotConfigured(f"{self.api_key_env_var} is not a Stripe secret key (sk_live_, sk_test_, rk_live_ "
                                      f"or rk_test_...): it starts {api_key[:3]!r}")
        api_base = (dg.EnvVar(self.api_base_env_var).get_value() or REAL_API_BASE).rstrip("/")
        transport = stripe.RequestsClient()
        try:
            client = stripe.StripeClient(api_key, base_addresses={"api": api_base},
                                         max_network_retries=self.max_network_retries, http_client=transport)
            try:
                account = client.v1.accounts.retrieve_current()
            except stripe.StripeError as error:
                raise StripeNotConfigured(f"Stripe at {api_base} did not accept {self.api_key_env_var}: "
                                          f"{error.user_message or error}") from None
            yield StripeSession(client, StripeTarget(account.id, mode, api_base))
        finally:
            transport.close()

    def target(self) -> StripeTarget:
        """Where a run would publish (for a one-line report before it does). Raises StripeNotConfigured."""
        with self.session() as session:
            return session.target
