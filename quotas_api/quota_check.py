"""May a service use `quantity` more of a metric? Exact decimal arithmetic on the snapshot's figures."""

from dataclasses import dataclass
from decimal import Decimal

from billing_pipeline.exchange.quota_snapshot import json_number
from quotas_api.snapshot_index import QuotaFigures

ZERO = Decimal(0)


@dataclass(frozen=True)
class CheckOutcome:
    allowed: bool
    remaining_after: Decimal | None
    overage: Decimal
    reason: str
    message: str


def check_quota(figures: QuotaFigures, quantity: Decimal) -> CheckOutcome:
    remaining = None if figures.limit is None else max(ZERO, figures.limit - figures.used)
    if figures.account_status == "suspended":
        return CheckOutcome(False, remaining, ZERO, "account_suspended", "refused: the account is suspended")
    if figures.limit is None:
        return CheckOutcome(True, None, ZERO, "unlimited", "no limit on this metric")
    after = figures.limit - figures.used - quantity
    if after >= 0:
        return CheckOutcome(True, after, ZERO, "within_limit", "within the limit")
    if figures.enforcement == "hard" and figures.used >= figures.limit:
        return CheckOutcome(False, remaining, ZERO, "quota_exhausted",
                            "refused: the quota is exhausted, nothing is left under the hard limit")
    if figures.enforcement == "hard":
        return CheckOutcome(
            False,
            remaining,
            ZERO,
            "hard_limit_exceeded",
            "refused: this would pass the hard limit",
        )
    overage = min(quantity, -after)
    return CheckOutcome(
        True,
        ZERO,
        overage,
        "soft_limit_exceeded",
        f"allowed past the soft limit: {json_number(overage)} will be billed as overage",
    )
