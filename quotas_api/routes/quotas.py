"""Quota lookups and checks. Each operation's docstring (a lookup's `get`, the check function's own),
after `---`, is its OpenAPI description."""

import json
from decimal import Decimal

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
from quotas_api.quota_check import check_quota
from quotas_api.services import services
from quotas_api.snapshot_index import QuotaIndex

MAX_CHECK_BODY_BYTES = 4096


class _Lookup:
    """A GET lookup as a bare ASGI endpoint. Lookups are what services call before metered work,
    and skipping Starlette's Request and Response objects (the body is ready-made bytes) keeps
    them close to a route returning a constant body; see the benchmark. Subclasses find the body
    in `get`, whose docstring is the operation's OpenAPI description.
    """

    def get(self, index: QuotaIndex, key: ApiKey, path_params: dict[str, str]) -> bytes:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = authenticate(scope)
        body = self.get(_serving_index(scope), key, scope["path_params"])
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


class AccountQuotas(_Lookup):
    def get(self, index: QuotaIndex, key: ApiKey, path_params: dict[str, str]) -> bytes:
        """Every quota of an account in its open billing period.
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
        body = index.account_json(account_id) if key.may_read(account_id) else None
        if body is None:
            raise _account_not_found(account_id)
        return body


class MetricQuota(_Lookup):
    def get(self, index: QuotaIndex, key: ApiKey, path_params: dict[str, str]) -> bytes:
        """One quota of an account in its open billing period.
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
        body = index.quota_json(account_id, metric) if key.may_read(account_id) else None
        if body is None:
            raise _not_found(index, key, account_id, metric)
        return body


async def check(request: Request) -> Response:
    """Ask before doing metered work: may this account use `quantity` more of `metric`?
    ---
    operationId: checkQuota
    summary: Check a quota before using it
    description: >
      A hard limit refuses use past the limit; a soft limit allows it and reports the part past the
      limit as overage, to be billed. Unlimited metrics always allow. A suspended account is refused
      everything (reason account_suspended).
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
      "503": {$ref: "#/components/responses/SnapshotUnavailable"}
    """
    key = authenticate(request.scope)
    wanted = _check_request(await _limited_body(request))
    index = _serving_index(request.scope)
    figures = index.figures(wanted.account_id, wanted.metric) if key.may_read(wanted.account_id) else None
    if figures is None:
        raise _not_found(index, key, wanted.account_id, wanted.metric)
    outcome = check_quota(figures, wanted.quantity)
    body = _json_object(
        account_id=json.dumps(wanted.account_id),
        metric=json.dumps(wanted.metric),
        quantity=json_number(wanted.quantity),
        allowed=json.dumps(outcome.allowed),
        remaining_after=json_number(outcome.remaining_after),
        overage=json_number(outcome.overage),
        reason=json.dumps(outcome.reason),
        message=json.dumps(outcome.message),
        enforcement=json.dumps(figures.enforcement),
        as_of=json.dumps(index.as_of),
    )
    return Response(body, media_type=JSON)


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


def _not_found(index: QuotaIndex, key: ApiKey, account_id: str, metric: str) -> ApiError:
    # An account this key may not read answers exactly as one that does not exist.
    if not key.may_read(account_id) or not index.has_account(account_id):
        return _account_not_found(account_id)
    return ApiError(404, "metric_not_found", f"account {account_id!r} has no quota for metric {metric!r}")


async def _limited_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CHECK_BODY_BYTES:
            raise ApiError(413, "body_too_large", f"the request body must be at most {MAX_CHECK_BODY_BYTES} bytes")
    return bytes(body)


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


def _json_object(**rendered: str) -> str:
    return "{" + ",".join(f'"{name}":{value}' for name, value in rendered.items()) + "}"


# The router tries routes in order: the most frequent lookup first.
routes = [
    Route("/v1/accounts/{account_id}/quotas/{metric}", MetricQuota(), methods=["GET"]),
    Route("/v1/accounts/{account_id}/quotas", AccountQuotas(), methods=["GET"]),
    Route("/v1/quotas/check", check, methods=["POST"]),
]
