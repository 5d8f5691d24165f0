"""Request and response shapes. They validate the check request and give /openapi.json its schemas;
responses themselves are assembled from pre-rendered JSON (see snapshot_index)."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

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
CheckReason = Literal["unlimited", "within_limit", "soft_limit_exceeded", "hard_limit_exceeded", "account_suspended"]
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


class QuotaCheckRequest(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"account_id": "acme", "metric": "api_calls", "quantity": 10}]},
    )

    account_id: Identifier
    metric: Identifier
    quantity: QuantityNumber = Field(description="Units about to be used; at most 6 decimals.")


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
    as_of: str


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


SCHEMA_MODELS = (ErrorBody, AccountQuotas, MetricQuota, QuotaCheckRequest, QuotaCheckResult, Health)
