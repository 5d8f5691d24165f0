import json
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from quotas_api.quota_check import check_quota
from quotas_api.snapshot_index import QuotaFigures
from sample_service import SERVICE_KEY, bearer

SERVICE = bearer(SERVICE_KEY)
HARD = QuotaFigures(limit=Decimal(100), used=Decimal("90.5"), enforcement="hard", account_status="active")
SOFT = QuotaFigures(limit=Decimal(100), used=Decimal("90.5"), enforcement="soft", account_status="active")


def check(client: TestClient, **body) -> dict:
    response = client.post("/v1/quotas/check", json=body, headers=SERVICE)
    assert response.status_code == 200, response.text
    return json.loads(response.content, parse_float=Decimal, parse_int=Decimal)


def test_use_within_a_hard_limit_is_allowed_and_says_what_remains():
    outcome = check_quota(HARD, Decimal("9.5"))

    assert (outcome.allowed, outcome.remaining_after, outcome.overage, outcome.reason) == (
        True,
        Decimal(0),
        Decimal(0),
        "within_limit",
    )


def test_use_past_a_hard_limit_is_refused_and_nothing_is_consumed():
    outcome = check_quota(HARD, Decimal("9.6"))

    assert (outcome.allowed, outcome.remaining_after, outcome.reason) == (False, Decimal("9.5"), "hard_limit_exceeded")


def test_use_past_a_soft_limit_is_allowed_and_the_excess_is_billed_as_overage():
    outcome = check_quota(SOFT, Decimal(20))

    assert (outcome.allowed, outcome.remaining_after, outcome.overage, outcome.reason) == (
        True,
        Decimal(0),
        Decimal("10.5"),
        "soft_limit_exceeded",
    )
    assert "10.5 will be billed as overage" in outcome.message


def test_when_already_over_a_soft_limit_the_whole_quantity_is_overage():
    outcome = check_quota(QuotaFigures(limit=Decimal(100), used=Decimal(130), enforcement="soft", account_status="active"), Decimal(4))

    assert outcome.overage == Decimal(4)


def test_an_unlimited_metric_always_allows_and_has_no_remaining():
    outcome = check_quota(QuotaFigures(limit=None, used=Decimal(10**9), enforcement="hard", account_status="active"), Decimal(10**6))

    assert (outcome.allowed, outcome.remaining_after, outcome.reason) == (True, None, "unlimited")


def test_a_suspended_account_is_refused_even_within_its_limit():
    outcome = check_quota(QuotaFigures(limit=Decimal(100), used=Decimal(1), enforcement="soft", account_status="suspended"), Decimal(1))

    assert (outcome.allowed, outcome.remaining_after, outcome.overage, outcome.reason) == (
        False,
        Decimal(99),
        Decimal(0),
        "account_suspended",
    )


def test_a_check_over_http_answers_with_the_decision_and_the_snapshot_time(client: TestClient):
    result = check(client, account_id="acme", metric="api_calls", quantity=49999.5)

    assert result == {
        "account_id": "acme",
        "metric": "api_calls",
        "quantity": Decimal("49999.5"),
        "allowed": True,
        "remaining_after": 0,
        "overage": 0,
        "reason": "within_limit",
        "message": "within the limit",
        "enforcement": "hard",
        "used": Decimal("150000.5"),
        "limit": 200000,
        "remaining": Decimal("49999.5"),
        "consumed": False,
        "duplicate": False,
        "as_of": client.get("/healthz").json()["snapshot"]["generated_at"],
        "live_through": None,
    }


def test_a_hard_limit_refuses_over_http(client: TestClient):
    result = check(client, account_id="acme", metric="api_calls", quantity=49999.6)

    assert (result["allowed"], result["remaining_after"], result["reason"]) == (
        False,
        Decimal("49999.5"),
        "hard_limit_exceeded",
    )


def test_a_soft_limit_allows_over_http_and_reports_the_overage(client: TestClient):
    result = check(client, account_id="globex", metric="api_calls", quantity=25000)

    assert (result["allowed"], result["overage"], result["reason"]) == (True, 5000, "soft_limit_exceeded")


def test_an_unlimited_metric_allows_over_http(client: TestClient):
    result = check(client, account_id="acme", metric="seats", quantity=1000000)

    assert (result["allowed"], result["remaining_after"], result["reason"]) == (True, None, "unlimited")


def test_a_suspended_account_is_refused_over_http_and_its_quotas_say_why(client: TestClient):
    result = check(client, account_id="initech", metric="api_calls", quantity=1)
    quotas = client.get("/v1/accounts/initech/quotas", headers=SERVICE).json()

    assert (result["allowed"], result["remaining_after"], result["reason"]) == (False, None, "account_suspended")
    assert quotas["account_status"] == "suspended"
    assert client.get("/v1/accounts/acme/quotas", headers=SERVICE).json()["account_status"] == "active"


def test_a_quantity_with_many_digits_is_computed_exactly_not_through_float(client: TestClient):
    body = b'{"account_id": "acme", "metric": "api_calls", "quantity": 12345.123456}'

    response = client.post("/v1/quotas/check", content=body, headers=SERVICE)

    assert '"quantity":12345.123456,' in response.text
    assert '"remaining_after":37654.376544,' in response.text


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (b"{not json", 400, "malformed_json", "not valid JSON"),
        (b"", 400, "malformed_json", "not valid JSON"),
        (b"\xff\xfe", 400, "malformed_json", "not valid JSON"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": NaN}', 400, "malformed_json", "NaN"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": 1e999}', 422, "invalid_request", "quantity"),
        (b"[1, 2]", 422, "invalid_request", "must be a JSON object"),
        (b'"text"', 422, "invalid_request", "must be a JSON object"),
        (b'{"account_id": "acme", "metric": "api_calls"}', 422, "invalid_request", "quantity: Field required"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": "5"}', 422, "invalid_request", "quantity: must be a JSON number"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": true}', 422, "invalid_request", "quantity: must be a JSON number"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": 0}', 422, "invalid_request", "greater than 0"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": -3}', 422, "invalid_request", "greater than 0"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": 0.0000001}', 422, "invalid_request", "6 decimal places"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": 1000000000000.000001}', 422, "invalid_request", "quantity"),
        (b'{"account_id": 7, "metric": "api_calls", "quantity": 1}', 422, "invalid_request", "account_id"),
        (b'{"account_id": "", "metric": "api_calls", "quantity": 1}', 422, "invalid_request", "account_id"),
        (b'{"account_id": "acme", "metric": "api_calls", "quantity": 1, "x": 1}', 422, "invalid_request", "x: Extra"),
        (b"[" * 100000, 413, "body_too_large", "at most 4096 bytes"),
    ],
)
def test_malformed_or_invalid_check_bodies_get_a_4xx_with_a_code(
    client: TestClient, body: bytes, status: int, code: str, message: str
):
    response = client.post("/v1/quotas/check", content=body, headers=SERVICE)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert message in response.json()["error"]["message"]


def test_deeply_nested_json_within_the_size_limit_is_a_400_not_a_crash(client: TestClient):
    response = client.post("/v1/quotas/check", content=b"[" * 4000, headers=SERVICE)

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("account_id", "metric", "code"),
    [("nobody", "api_calls", "account_not_found"), ("acme", "teleports", "metric_not_found")],
)
def test_a_check_on_an_unknown_account_or_metric_is_404(client: TestClient, account_id: str, metric: str, code: str):
    response = client.post(
        "/v1/quotas/check", json={"account_id": account_id, "metric": metric, "quantity": 1}, headers=SERVICE
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == code
