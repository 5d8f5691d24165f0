"""Quota lookups and checks. Each operation's docstring (a lookup's `get`, the check function's own),
after `---`, is its OpenAPI description."""

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import Decimal

import anyio.to_thread

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from billing_pipeline.exchange.quota_snapshot import json_number
from quotas_api.api_keys import ApiKey
from quotas_api.auth import authenticate
from quotas_api.errors import JSON, ApiError
from quotas_api.models import QuotaCheckRequest
from quotas_api.event_judge import CatalogUnavailable
from quotas_api.live_usage import EventRefused, NotConsumable
from quotas_api.routes.events import catalog_unavailable
from quotas_api.quota_check import CheckOutcome, check_quota
from quotas_api.routes.bodies import limited_body
from quotas_api.services import services
from quotas_api.snapshot_index import LiveUsed, QuotaFigures, QuotaIndex
from quotas_api.usage_index import json_object

MAX_CHECK_BODY_BYTES = 4096


class _Lookup:
    """A GET lookup as a bare ASGI endpoint. Lookups are what services call before metered work,
    and skipping Starlette's Request and Response objects (the body is ready-made bytes) keeps
    them close to a route returning a constant body; see the benchmark. Subclasses find the body
    in `get` (None: not found), whose docstring is the operation's OpenAPI description; `get` runs
    with the snapshot and the live counts of one moment.
    """

    def get(self, index: QuotaIndex, live: LiveUsed, header_tail: bytes, key: ApiKey,
            path_params: dict[str, str]) -> bytes | None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = authenticate(scope)
        path_params = scope["path_params"]
        index = _serving_index(scope)
        body = services(scope).live.read(lambda current, live, tail: self.get(current, live, tail, key, path_params), index)
        if body is None:
            raise _not_found(index, key, path_params["account_id"], path_params.get("metric"))
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


class AccountQuotas(_Lookup):
    def get(self, index: QuotaIndex, live: LiveUsed, header_tail: bytes, key: ApiKey,
            path_params: dict[str, str]) -> bytes | None:
        """Every quota of an account in its open billing period, current to the last accepted event.
        ---
        operationId: getAccountQuotas
        summary: All quotas of an account
        parameters:
          - $ref: "#/components/parameters/AccountId"
        responses:
          "200":
            description: The account's quotas, one per metric.
            content:
              application/json:
                schema: {$ref: "#/components/schemas/AccountQuotas"}
          "401": {$ref: "#/components/responses/Unauthorized"}
          "404": {$ref: "#/components/responses/NotFound"}
          "503": {$ref: "#/components/responses/SnapshotUnavailable"}
        """
        account_id = path_params["account_id"]
        return index.account_json(account_id, live, header_tail) if key.may_read(account_id) else None


class MetricQuota(_Lookup):
    def get(self, index: QuotaIndex, live: LiveUsed, header_tail: bytes, key: ApiKey,
            path_params: dict[str, str]) -> bytes | None:
        """One quota of an account in its open billing period, current to the last accepted event.
        ---
        operationId: getMetricQuota
        summary: One quota of an account
        parameters:
          - $ref: "#/components/parameters/AccountId"
          - $ref: "#/components/parameters/Metric"
        responses:
          "200":
            description: The account's quota for the metric.
            content:
              application/json:
                schema: {$ref: "#/components/schemas/MetricQuota"}
          "401": {$ref: "#/components/responses/Unauthorized"}
          "404": {$ref: "#/components/responses/NotFound"}
          "503": {$ref: "#/components/responses/SnapshotUnavailable"}
        """
        account_id, metric = path_params["account_id"], path_params["metric"]
        return index.quota_json(account_id, metric, live, header_tail) if key.may_read(account_id) else None


async def check(request: Request) -> Response:
    """Ask before doing metered work: may this account use `quantity` more of `metric`?
    ---
    operationId: checkQuota
    summary: Check a quota before using it
    description: >
      A hard limit refuses use past the limit (reason quota_exhausted when nothing is left at all);
      a soft limit allows it and reports the part past the limit as overage, to be billed. Unlimited
      metrics always allow. A suspended account is refused everything (reason account_suspended).
      `used` is the snapshot's moved on by every event the API accepted since, by the metric's
      aggregation (sum: quantities, count: one per event, max: the peak, unique_count: new distinct
      values, which may over-count until the next snapshot, never under-count). With `consume` and an
      `event_id` the use is recorded as an accepted event when allowed, atomically with the check, so
      concurrent callers never pass a hard limit together; the amount checked is what that event
      raises the metric by (a count metric: 1); a unique_count metric cannot be consumed (422
      not_consumable). The same event_id again records nothing (reason already_consumed). With
      `enforce` a refusal is an HTTP 429 with Retry-After.
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/QuotaCheckRequest"}
    responses:
      "200":
        description: The decision (a refusal is a 200 with allowed false).
        content:
          application/json:
            schema: {$ref: "#/components/schemas/QuotaCheckResult"}
      "400": {$ref: "#/components/responses/BadRequest"}
      "401": {$ref: "#/components/responses/Unauthorized"}
      "404": {$ref: "#/components/responses/NotFound"}
      "413": {$ref: "#/components/responses/TooLarge"}
      "422": {$ref: "#/components/responses/Invalid"}
      "429":
        description: Refused, when the request asked for the enforcing form (enforce true).
        headers:
          Retry-After:
            description: Seconds until the period ends and the quota resets.
            schema: {type: integer}
        content:
          application/json:
            schema: {$ref: "#/components/schemas/QuotaRefusal"}
      "503": {$ref: "#/components/responses/SnapshotUnavailable"}
    """
    key = authenticate(request.scope)
    wanted = _check_request(await limited_body(request, MAX_CHECK_BODY_BYTES))
    index = _serving_index(request.scope)
    live = services(request.scope).live
    if not key.may_read(wanted.account_id):
        raise _not_found(index, key, wanted.account_id, wanted.metric)
    consumed = duplicate = False
    if wanted.consume:
        assert wanted.event_id is not None  # the request model requires it with consume
        try:
            result = await anyio.to_thread.run_sync(
                live.consume, key, wanted.account_id, wanted.metric, wanted.quantity, wanted.event_id, index)
        except EventRefused as exc:
            raise ApiError(422, exc.reason, f"the usage event would be refused by ingestion: {exc.detail}") from None
        except CatalogUnavailable as exc:
            raise catalog_unavailable(exc) from None
        except NotConsumable as exc:
            raise ApiError(422, "not_consumable", str(exc)) from None
        figures, outcome = (result.figures, result.outcome) if result else (None, None)
        consumed, duplicate = (result.consumed, result.duplicate) if result else (False, False)
    else:
        figures = live.live_figures(wanted.account_id, wanted.metric, index)
        outcome = check_quota(figures, wanted.quantity) if figures else None
    if figures is None or outcome is None:
        raise _not_found(index, key, wanted.account_id, wanted.metric)
    if duplicate:
        # Consumed by an earlier request with this event_id: that request was allowed.
        outcome = replace(outcome, allowed=True, reason="already_consumed",
                          message="this event_id was consumed before; nothing more was recorded")
    remaining = None if figures.limit is None else max(figures.limit - figures.used, Decimal(0))
    live_through = live.live_through()
    if wanted.enforce and not outcome.allowed:
        return _refusal(wanted.account_id, wanted.metric, wanted.quantity, figures, remaining, outcome)
    body = json_object(
        account_id=json.dumps(wanted.account_id),
        metric=json.dumps(wanted.metric),
        quantity=json_number(wanted.quantity),
        allowed=json.dumps(outcome.allowed),
        remaining_after=json_number(outcome.remaining_after),
        overage=json_number(outcome.overage),
        reason=json.dumps(outcome.reason),
        message=json.dumps(outcome.message),
        enforcement=json.dumps(figures.enforcement),
        used=json_number(figures.used),
        limit=json_number(figures.limit),
        remaining=json_number(remaining),
        consumed=json.dumps(consumed),
        duplicate=json.dumps(duplicate),
        as_of=json.dumps(index.as_of),
        live_through=json.dumps(live_through),
    )
    return Response(body, media_type=JSON)


def _refusal(account_id: str, metric: str, quantity: Decimal, figures: QuotaFigures, remaining: Decimal | None,
             outcome: CheckOutcome) -> Response:
    """429 with Retry-After until the period ends, and a body a calling service can show its user."""
    assert figures.period_end is not None
    resets_at = datetime.combine(figures.period_end, time(), UTC)
    seconds = max(1, math.ceil((resets_at - datetime.now(UTC)).total_seconds()))
    if outcome.reason == "account_suspended":
        code, message = "account_suspended", "This account is suspended, so it cannot use this now."
        next_step = "Contact the account's administrator or billing support to reactivate the account."
    else:
        code = outcome.reason
        message = (f"You have used {json_number(figures.used)} of your {json_number(figures.limit)} {metric} "
                   f"this period; {json_number(quantity)} more would pass the limit.")
        next_step = (f"Your {metric} quota resets on {figures.period_end.isoformat()} (UTC). "
                     "Upgrade your plan for a higher limit, or wait until then.")
    body = json_object(
        error=json.dumps({"code": code, "message": message}),
        account_id=json.dumps(account_id),
        metric=json.dumps(metric),
        current_usage=json_number(figures.used),
        limit=json_number(figures.limit),
        remaining=json_number(remaining),
        requested=json_number(quantity),
        period_end=json.dumps(figures.period_end.isoformat()),
        retry_after_seconds=str(seconds),
        next_step=json.dumps(next_step),
    )
    return Response(body, status_code=429, media_type=JSON, headers={"Retry-After": str(seconds)})


def _serving_index(scope: Scope) -> QuotaIndex:
    index = services(scope).snapshots.current
    if index is None:
        raise ApiError(
            503,
            "snapshot_unavailable",
            "no quota snapshot is loaded yet: the pipeline publishes one after ingestion; see /healthz",
        )
    return index


def _account_not_found(account_id: str) -> ApiError:
    return ApiError(404, "account_not_found", f"no open-period quotas for account {account_id!r}")


def _not_found(index: QuotaIndex, key: ApiKey, account_id: str, metric: str | None) -> ApiError:
    # An account this key may not read answers exactly as one that does not exist.
    if not key.may_read(account_id) or not index.has_account(account_id) or metric is None:
        return _account_not_found(account_id)
    return ApiError(404, "metric_not_found", f"account {account_id!r} has no quota for metric {metric!r}")


def _check_request(body: bytes) -> QuotaCheckRequest:
    try:
        # Numbers parse straight to Decimal: a quantity is exact, never rounded through float.
        payload = json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid_request", "the request body must be a JSON object")
    try:
        return QuotaCheckRequest.model_validate(payload, strict=True)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors(include_url=False, include_input=False))
        raise ApiError(422, "invalid_request", problems) from None


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "body"
    # Strict mode names the Python type it wanted; the client sent JSON, so say it in JSON terms.
    if error["type"] == "is_instance_of" and "Decimal" in error["msg"]:
        return f"{where}: must be a JSON number"
    return f"{where}: {error['msg']}"


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


# The router tries routes in order: the most frequent lookup first.
routes = [
    Route("/v1/accounts/{account_id}/quotas/{metric}", MetricQuota(), methods=["GET"]),
    Route("/v1/accounts/{account_id}/quotas", AccountQuotas(), methods=["GET"]),
    Route("/v1/quotas/check", check, methods=["POST"]),
]
