"""Which Stripe we publish to: real Stripe when STRIPE_API_KEY is set, else the local server.

The key is read through Dagster's EnvVar when a step opens a session, never at import, and never
skipped silently: without a key every step logs, loudly, that it talks to the LOCAL
Stripe-compatible server (started in-process on the data folder's Stripe state) and says so in
its metadata (`stripe_mode: local`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import stripe
from pydantic import Field

from billing_pipeline.stripe_local import serve

LOCAL_API_KEY = "sk_test_local"


@dataclass(frozen=True)
class StripeSession:
    client: stripe.StripeClient
    mode: str  # live: api.stripe.com; local: a local Stripe-compatible server
    url: str


class StripeResource(dg.ConfigurableResource):
    api_key_env_var: str = Field(default="STRIPE_API_KEY",
                                 description="Environment variable holding the Stripe secret key; unset = local server.")
    api_base: str | None = Field(default=None,
                                 description="Send API requests here instead (a local server already running, tests).")
    max_network_retries: int = Field(default=4, description="SDK retries of network errors, 409, 429 and 5xx, same key.")

    @contextmanager
    def session(self, state_dir: Path, log: dg.DagsterLogManager | None = None) -> Iterator[StripeSession]:
        api_key = dg.EnvVar(self.api_key_env_var).get_value()
        if self.api_base:
            with self._client(api_key or LOCAL_API_KEY, self.api_base) as client:
                yield StripeSession(client, "local", self.api_base)
        elif api_key:
            with self._client(api_key, None) as client:
                yield StripeSession(client, "live", "https://api.stripe.com")
        else:
            with serve(state_dir=state_dir) as url:
                if log:
                    log.warning(f"{self.api_key_env_var} is not set: publishing to the LOCAL Stripe-compatible server "
                                f"at {url} (state in {state_dir}). Nothing reaches real Stripe.")
                with self._client(LOCAL_API_KEY, url) as client:
                    yield StripeSession(client, "local", url)

    @contextmanager
    def _client(self, api_key: str, api_base: str | None) -> Iterator[stripe.StripeClient]:
        transport = stripe.RequestsClient()
        try:
            yield stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                                      max_network_retries=self.max_network_retries, http_client=transport)
        finally:
            transport.close()
