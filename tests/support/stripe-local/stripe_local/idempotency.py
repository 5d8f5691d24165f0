"""Idempotency keys as Stripe documents them.

The first response to a POST with an `Idempotency-Key` is kept for 24 hours together with a
fingerprint of method, path and parameters. The same key and fingerprint get that response
again; the same key with other parameters is a 400 `idempotency_error`; a key whose first request
is still running is a 409. 5xx and 429 answers are not kept, so a retry executes for real.
Keys are scoped to the API key, like Stripe scopes them to the account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qsl

from stripe_local.store import Store
from stripe_local.wire import ApiError

RETENTION_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Stored:
    status: int
    body: bytes
    request_id: str


def fingerprint(method: str, path: str, query: str, body: str) -> str:
    # Order-insensitive: the same parameters sent in another order are the same request.
    pairs = sorted(parse_qsl(query, keep_blank_values=True)) + sorted(parse_qsl(body, keep_blank_values=True))
    digest = hashlib.sha256(f"{method}\n{path}\n".encode())
    for key, value in pairs:
        digest.update(f"{key}={value}\n".encode())
    return digest.hexdigest()


def keeps(status: int) -> bool:
    return status < 500 and status != 429


class IdempotencyLedger:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.in_flight: set[str] = set()

    @staticmethod
    def slot(api_key: str, key: str) -> str:
        return hashlib.sha256(api_key.encode()).hexdigest()[:16] + ":" + key

    def begin(self, slot: str, key: str, print_: str) -> Stored | None:
        """Claim the key, or return the stored response to replay. Raises 400/409 as Stripe does."""
        if len(key) > MAX_KEY_LENGTH:
            raise ApiError(400, f"Idempotency keys can be at most {MAX_KEY_LENGTH} characters long.",
                           type="idempotency_error")
        with self.store.lock:
            record = self.store.get("idempotency", slot)
            if record is not None and self.store.now() - record["created"] >= RETENTION_SECONDS:
                self.store.delete("idempotency", slot)
                record = None
            if record is not None:
                if record["fingerprint"] != print_:
                    raise ApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{key}' if you meant to execute a "
                        "different request.",
                        type="idempotency_error",
                    )
                return Stored(record["status"], record["body"].encode(), record["request_id"])
            if slot in self.in_flight:
                raise ApiError(
                    409,
                    "There is currently another in-progress request using this idempotency key. "
                    "Try again once it has finished.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            self.in_flight.add(slot)
            return None

    def finish(self, slot: str, print_: str, status: int, body: bytes, request_id: str) -> None:
        with self.store.lock:
            self.in_flight.discard(slot)
            self._prune()
            if keeps(status):
                self.store.insert(
                    "idempotency",
                    {
                        "id": slot,
                        "fingerprint": print_,
                        "status": status,
                        "body": body.decode(),
                        "request_id": request_id,
                        "created": self.store.now(),
                    },
                )

    def _prune(self) -> None:
        horizon = self.store.now() - RETENTION_SECONDS
        expired = [r["id"] for r in self.store.rows("idempotency") if r["created"] <= horizon]
        for slot in expired:
            self.store.delete("idempotency", slot)

    def abandon(self, slot: str) -> None:
        with self.store.lock:
            self.in_flight.discard(slot)
