"""Usage for people: an account's open period per metric and day, with a projection to its end."""

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quotas_api.auth import authenticate
from quotas_api.errors import JSON, ApiError
from quotas_api.services import services
from quotas_api.usage_index import usage_json


async def account_usage(request: Request) -> Response:
    """The open period's usage per metric and day, its draft invoice and a projection to the period's end.
    ---
    operationId: getAccountUsage
    summary: An account's usage this period, and where it is heading
    description: >
      Usage per metric and per UTC day of the account's open period: the pipeline's usage snapshot
      plus every event the API accepted since (sum and count metrics add them, max keeps the peak;
      unique_count metrics move at the next snapshot). The draft invoice is the pipeline's latest
      rating of the open period (the upcoming invoice), in integer minor units of its currency (the
      minor unit has `exponent` decimals). The projection is linear on elapsed days; `method` states it.
    parameters:
      - $ref: "#/components/parameters/AccountId"
    responses:
      "200":
        description: The account's usage and projection.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/AccountUsage"}
      "401": {$ref: "#/components/responses/Unauthorized"}
      "404": {$ref: "#/components/responses/NotFound"}
      "503": {$ref: "#/components/responses/UsageUnavailable"}
    """
    key = authenticate(request.scope)
    account_id = request.path_params["account_id"]
    found = services(request.scope)
    usage = found.usage.current
    if usage is None:
        raise ApiError(503, "usage_snapshot_unavailable",
                       "no usage snapshot is loaded yet: the pipeline publishes one with the quota snapshot")
    row = usage.account(account_id) if key.may_read(account_id) else None
    if row is None:
        # An account this key may not read answers exactly as one that does not exist.
        raise ApiError(404, "account_not_found", f"no open-period usage for account {account_id!r}")
    quotas, live, live_through = found.live.account_days(account_id, row["period"])
    if quotas is None or quotas.generated_at != usage.generated_at:
        # Live counts are kept against the served quota snapshot: they add up with a usage snapshot
        # of the same run only (the pipeline writes the pair; the API takes them within a poll).
        raise ApiError(503, "usage_snapshot_pending",
                       "the usage snapshot and the quota snapshot being served are from different runs; "
                       "the matching one is loaded within seconds", {"Retry-After": "1"})
    return Response(usage_json(row, live, usage.as_of, live_through, datetime.now(UTC).date()), media_type=JSON)


routes = [Route("/v1/accounts/{account_id}/usage", account_usage, methods=["GET"])]
