"""Idempotency keys that survive a re-run: the same invoice, step and content give the same key.

The SDK's own keys are random per process, so a re-run after a crash would repeat a write Stripe
already applied. Ours name the invoice and the step and carry the content hash, so changed content
can never replay an answer given to other content. Stripe keeps a key 24 hours; after that the
publications and lists by metadata decide instead (publisher.py).
"""

import hashlib

PREFIX = "bp"


def idempotency_key(invoice_id: str, step: str, content_hash: str, part: str | None = None) -> str:
    key = f"{PREFIX}:{invoice_id}:{step}:{content_hash[:16]}"
    # The part (a draft id and line id, a replacement number) can be long; a digest keeps every key
    # well under Stripe's 255 characters.
    return f"{key}:{digest(part)}" if part is not None else key


def customer_key(account_id: str, fields: dict[str, str]) -> str:
    """Keyed by the customer's fields too: an edited email is another request, not a key clash."""
    return f"{PREFIX}:customer:{account_id}:{digest(repr(sorted(fields.items())))}"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
