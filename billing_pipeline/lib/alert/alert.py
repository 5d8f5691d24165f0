"""One alert and its dedup key."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def canonical_threshold(threshold: Decimal | None) -> str:
    """75, 75.0 and 75.00 are one threshold: the key must not depend on how it was written."""
    if threshold is None:
        return ""
    return format(threshold.normalize(), "f")


def alert_key(account_id: str, metric: str | None, kind: str, threshold: Decimal | None, period: str) -> str:
    """The dedup key: an alert fires once per account, metric, kind, threshold and period."""
    parts = [account_id, metric or "", kind, canonical_threshold(threshold), period]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return canonical_threshold(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(value: Any) -> str:
    """JSON with exact decimals (as strings) and ISO dates."""
    return json.dumps(value, default=_json_default, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Alert:
    account_id: str
    metric: str | None
    kind: str
    threshold: Decimal | None
    period: str  # YYYY-MM, or the day YYYY-MM-DD for an anomaly
    message: str
    evaluated_for: date
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return alert_key(self.account_id, self.metric, self.kind, self.threshold, self.period)
