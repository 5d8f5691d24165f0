"""A small client for the local server's /_test controls, for tests and the demo."""

from __future__ import annotations

from typing import Any

import httpx


class LocalStripeControls:
    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10.0)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LocalStripeControls:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_test/reset")

    def now(self) -> int:
        return self._call("GET", "/_test/clock")["now"]

    def advance_clock(self, seconds: int) -> int:
        return self._call("POST", "/_test/clock/advance", {"seconds": seconds})["now"]

    def add_fault(self, kind: str, method: str = "*", path: str = "/v1/", count: int = 1, **options: int) -> None:
        """kind: error (status=500|503), rate_limit (retry_after=s), drop, delay (delay_ms=n)."""
        self._call("POST", "/_test/faults", {"kind": kind, "method": method, "path": path, "count": count, **options})

    def pending_faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_test/faults")["queued"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/_test/faults")

    def decline_next_payments(self, count: int = 1) -> None:
        self._call("POST", "/_test/payments/decline_next", {"count": count})

    def autopay(self, decline_one_in: int | None = 7) -> None:
        """Customers pay each invoice as it is finalized, one card in `decline_one_in` declined; None: stop."""
        if decline_one_in is None:
            self._call("DELETE", "/_test/autopay")
        else:
            self._call("POST", "/_test/autopay", {"decline_one_in": decline_one_in})

    def resend_event(self, event_id: str, endpoint_id: str | None = None) -> list[str]:
        body = {"endpoint": endpoint_id} if endpoint_id else {}
        return self._call("POST", f"/_test/events/{event_id}/resend", body)["endpoints"]

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_test/requests")["data"]

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_test/webhook_deliveries")["data"]
