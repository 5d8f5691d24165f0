"""Webhook signatures: how we sign an alert's body and how a receiver checks it.

The header is `X-Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
Signing the timestamp with the body lets a receiver refuse replays of an old, captured request.
"""

import hashlib
import hmac
import time

HEADER = "X-Billing-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The X-Billing-Signature header value for `body`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={_mac(secret, stamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
                     now: float | None = None) -> bool:
    """True when `header` signs exactly these body bytes with `secret` and its timestamp is within
    `tolerance` seconds of now. Several v1= values are accepted (one per secret while rotating)."""
    stamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            stamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = _mac(secret, stamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
