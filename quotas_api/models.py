"""Request and response shapes. They validate the check request and give /openapi.json its schemas;
responses themselves are assembled from pre-rendered JSON (see snapshot_index)."""

import datetime
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, WithJsonSchema, model_validator

from billing_pipeline.exchange.quota_snapshot import ACCOUNT_STATUSES, ENFORCEMENTS, STATUSES

# Exact decimals travel as JSON numbers, never strings or floats.
JsonNumber = Annotated[Decimal, WithJsonSchema({"type": "number"})]
# Up to a trillion units, in steps of a millionth (the snapshot's Decimal(18, 6) scale). The bound
# is a whole number so that the schema's float and the server's Decimal mean the same limit.
MAX_QUANTITY = 10**12
QuantityNumber = Annotated[
    Decimal,
    Field(gt=0, le=MAX_QUANTITY, decimal_places=6),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_QUANTITY, "multipleOf": 0.000001}),
]
Status = Literal[STATUSES]  # type: ignore[valid-type]
Enforcement = Literal[ENFORCEMENTS]  # type: ignore[valid-type]
AccountStatus = Literal[ACCOUNT_STATUSES]  # type: ignore[valid-type]
CheckReason = Literal[
    "unlimited", "within_limit", "soft_limit_exceeded", "hard_limit_exceeded", "quota_exhausted", "account_suspended",
    "already_consumed",
]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Model):
    code: str = Field(description="Stable machine-readable code, e.g. account_not_found.")
    message: str


class ErrorBody(Model):
    error: ErrorDetail


class Trial(Model):
    active: bool
    ends_on: date | None


class Credits(Model):
    amount_cents: int = Field(description="Prepaid credit left, in the currency's minor unit.")
    currency: str


class AccountFields(Model):
    account_id: str
    account_status: AccountStatus = Field(description="suspended: every check is refused.")
    period: str = Field(description="Open billing period, YYYY-MM (UTC calendar month).")
    period_start: date
    period_end: date = Field(description="First day after the period.")
    plan: str
    trial: Trial
    credits_remaining: Credits
    as_of: str = Field(description="When the pipeline generated the snapshot this answer comes from (UTC).")
    live_through: str | None = Field(
        description="When the newest event accepted by the API was accepted (UTC): `used` counts the snapshot's "
        "usage plus every event accepted since that the snapshot does not include; null when none was."
    )


class QuotaFields(Model):
    metric: str
    status: Status
    enforcement: Enforcement = Field(description="hard: use past the limit is refused; soft: billed as overage.")
    included: JsonNumber = Field(description="Free allowance in the period.")
    limit: JsonNumber | None = Field(description="Cap the service enforces; null when unlimited.")
    used: JsonNumber
    remaining: JsonNumber | None = Field(description="limit - used, at least 0; null when unlimited.")
    percent_used: JsonNumber | None = Field(description="used / limit in percent; null when unlimited.")


class AccountQuotas(AccountFields):
    quotas: list[QuotaFields]


class MetricQuota(AccountFields, QuotaFields):
    pass


class UsageDay(Model):
    date: "datetime.date" = Field(description="A UTC day of the period.")
    quantity: JsonNumber


class MetricUsage(Model):
    metric: str
    aggregation: Literal["sum", "count", "max", "unique_count"]
    used: JsonNumber = Field(description="The period so far: the snapshot's plus events accepted since (not for "
                             "unique_count, which moves at the next snapshot).")
    projected: JsonNumber = Field(description="To the period's end: used x days_in_period / elapsed_days for sum and "
                                  "count (9 places, half up); used for max and unique_count.")
    days: list[UsageDay] = Field(description="Days with usage, in date order.")


class DraftInvoice(Model):
    currency: str
    exponent: int = Field(description="Decimals of the currency's minor unit: amounts / 10**exponent are major units.")
    rated_as_of: date = Field(description="The day the pipeline rated the draft as of.")
    subtotal: int = Field(description="Base fees, usage, minimums and adjustments, in minor units.")
    discount: int
    credits_applied: int
    total: int = Field(description="What the invoice would be if the period ended at rated_as_of, in minor units.")


class ProjectedCharge(Model):
    currency: str
    exponent: int
    total: int = Field(description="The draft's total with its sum and count usage lines scaled to the whole period, "
                       "in minor units (half up).")


class Projection(Model):
    days_in_period: int
    elapsed_days: int = Field(description="Days from the period's start through today (UTC), at least 1.")
    method: str = Field(description="How the projection is made, in words.")
    charge: ProjectedCharge | None = Field(description="null when the account has no draft invoice.")


class AccountUsage(Model):
    account_id: str
    period: str
    period_start: date
    period_end: date = Field(description="First day after the period.")
    as_of: str = Field(description="When the pipeline generated the usage snapshot (UTC).")
    live_through: str | None = Field(description="When the newest event accepted by the API was accepted (UTC).")
    metrics: list[MetricUsage] = Field(description="Every metric of the catalog, in metric order.")
    draft_invoice: DraftInvoice | None = Field(description="The upcoming invoice as last rated; null when none.")
    projection: Projection


class QuotaCheckRequest(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"account_id": "acme", "metric": "api_calls", "quantity": 10},
                         {"account_id": "acme", "metric": "api_calls", "quantity": 1, "consume": True,
                          "event_id": "evt_0001", "enforce": True}],
            # consume needs an event_id
            "if": {"properties": {"consume": {"const": True}}, "required": ["consume"]},
            "then": {"required": ["event_id"], "properties": {"event_id": {"type": "string"}}},
        },
    )

    account_id: Identifier
    metric: Identifier
    quantity: QuantityNumber = Field(description="Units about to be used; at most 6 decimals.")
    consume: bool = Field(False, description="Record the use when allowed, atomically with the check: concurrent "
                          "callers never pass a hard limit together. Needs event_id.")
    event_id: Identifier | None = Field(None, description="With consume: the usage event's id. Sending it again "
                                        "consumes nothing more (answered as a duplicate).")
    enforce: bool = Field(False, description="Answer a refusal with HTTP 429, Retry-After (seconds to the period's "
                          "end) and a body to show the user, instead of a 200 with allowed false.")

    @model_validator(mode="after")
    def _consume_needs_event_id(self) -> "QuotaCheckRequest":
        if self.consume and self.event_id is None:
            raise ValueError("consume needs an event_id (the id of the usage event it records)")
        return self


class QuotaCheckResult(Model):
    account_id: str
    metric: str
    quantity: JsonNumber
    allowed: bool
    remaining_after: JsonNumber | None = Field(
        description="What would remain under the limit after this use (unchanged when refused); null when unlimited."
    )
    overage: JsonNumber = Field(description="Part of the quantity past a soft limit, billed as overage.")
    reason: CheckReason
    message: str
    enforcement: Enforcement
    used: JsonNumber = Field(description="Use before this request: the snapshot's plus what the API accepted since.")
    limit: JsonNumber | None
    remaining: JsonNumber | None = Field(description="limit - used before this request, at least 0; null when unlimited.")
    consumed: bool = Field(description="This request recorded the use (consume only).")
    duplicate: bool = Field(description="The event_id was consumed before: nothing more was recorded.")
    as_of: str
    live_through: str | None = Field(description="When the newest event the answer counts was accepted (UTC).")


class QuotaRefusal(Model):
    error: ErrorDetail
    account_id: str
    metric: str
    current_usage: JsonNumber
    limit: JsonNumber | None
    remaining: JsonNumber | None
    requested: JsonNumber
    period_end: date = Field(description="The quota resets when this day begins (UTC).")
    retry_after_seconds: int
    next_step: str = Field(description="What the user can do, in words a calling service can show.")


EVENT_EXAMPLE = {"event_id": "evt_0001", "account_id": "acme", "metric": "api_calls", "quantity": 1,
                 "occurred_at": "2026-05-03T12:00:00Z", "user_id": "u_42", "endpoint": "/v1/review"}
# The body is only shaped here (an object, or an array of up to 1,000): each event's fields are judged
# by the raw event contract, and an event that breaks it is listed in `rejected`, not refused whole.
UsageEvent = Annotated[dict, WithJsonSchema({
    "type": "object",
    "description": "A usage event in the raw event contract: event_id, account_id, metric, occurred_at (RFC 3339 "
    "with an offset) required; quantity (a number >= 0, at most 9 decimals; default 1), user_id, endpoint, "
    "request_id and properties (an object) optional.",
    "examples": [EVENT_EXAMPLE],
})]


class EventsRequest(RootModel[UsageEvent | Annotated[list[UsageEvent], Field(max_length=1000)]]):
    model_config = ConfigDict(json_schema_extra={"examples": [EVENT_EXAMPLE, [EVENT_EXAMPLE]]})


class RejectedEvent(Model):
    index: int = Field(description="Position in the posted array (0 for a single event).")
    event_id: str | None
    reason: str = Field(description="The rule broken, as in the quarantine (e.g. unknown_metric), or "
                        "account_not_allowed: an account's key posted another account's event.")
    detail: str


class EventsResult(Model):
    accepted: int = Field(description="New events, written durably and counted.")
    duplicates: int = Field(description="Events whose event_id was accepted before: not written again.")
    rejected: list[RejectedEvent]


class SnapshotHealth(Model):
    path: str
    loaded: bool
    generated_at: str | None
    age_seconds: float | None
    stale: bool
    rows: int | None
    accounts: int | None
    loaded_at: str | None
    load_seconds: float | None
    last_error: str | None = Field(description="Why the latest file was not loaded, while that is so.")
    last_error_at: str | None


class Health(Model):
    status: Literal["ok", "degraded", "unhealthy"] = Field(
        description="unhealthy: nothing to serve (503). degraded: serving, but the latest file was "
        "rejected or the snapshot is stale."
    )
    snapshot: SnapshotHealth


SCHEMA_MODELS = (ErrorBody, AccountQuotas, MetricQuota, AccountUsage, QuotaCheckRequest, QuotaCheckResult, QuotaRefusal, EventsRequest, EventsResult, Health)
