import json
from datetime import datetime
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from billing_pipeline.exchange.quota_snapshot import as_of_text
from sample_service import SERVICE_KEY, bearer

SERVICE = bearer(SERVICE_KEY)


def exact(response):
    """The body with numbers as Decimal, so assertions compare exact values."""
    return json.loads(response.content, parse_float=Decimal, parse_int=Decimal)


def test_an_account_lookup_returns_every_quota_of_the_open_period(client: TestClient, generated_at: datetime):
    response = client.get("/v1/accounts/acme/quotas", headers=SERVICE)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = exact(response)
    assert {k: v for k, v in body.items() if k != "quotas"} == {
        "account_id": "acme",
        "period": "2026-05",
        "period_start": "2026-05-01",
        "period_end": "2026-06-01",
        "account_status": "active",
        "plan": "pro",
        "trial": {"active": False, "ends_on": None},
        "credits_remaining": {"amount_cents": 2500, "currency": "usd"},
        "as_of": as_of_text(generated_at),
        "live_through": None,
    }
    assert [q["metric"] for q in body["quotas"]] == ["api_calls", "exports", "seats"]
    assert body["quotas"][0] == {
        "metric": "api_calls",
        "status": "ok",
        "enforcement": "hard",
        "included": 50000,
        "limit": 200000,
        "used": Decimal("150000.5"),
        "remaining": Decimal("49999.5"),
        "percent_used": 75,
    }


def test_whole_quantities_are_json_integers_and_fractions_keep_their_exact_digits(client: TestClient):
    text = client.get("/v1/accounts/acme/quotas/exports", headers=SERVICE).text

    assert '"included":100,' in text
    assert '"used":1200.25,' in text
    assert '"percent_used":120.03' in text


def test_a_metric_lookup_returns_the_account_fields_and_that_quota(client: TestClient, generated_at: datetime):
    response = client.get("/v1/accounts/acme/quotas/seats", headers=SERVICE)

    assert response.status_code == 200
    assert exact(response) == {
        "account_id": "acme",
        "period": "2026-05",
        "period_start": "2026-05-01",
        "period_end": "2026-06-01",
        "account_status": "active",
        "plan": "pro",
        "trial": {"active": False, "ends_on": None},
        "credits_remaining": {"amount_cents": 2500, "currency": "usd"},
        "as_of": as_of_text(generated_at),
        "live_through": None,
        "metric": "seats",
        "status": "unlimited",
        "enforcement": "soft",
        "included": 50000,
        "limit": None,
        "used": 7,
        "remaining": None,
        "percent_used": None,
    }


def test_a_trial_account_reports_its_trial_end(client: TestClient):
    body = client.get("/v1/accounts/globex/quotas/api_calls", headers=SERVICE).json()

    assert body["trial"] == {"active": True, "ends_on": "2026-05-14"}
    assert body["status"] == "approaching_limit"
    assert body["plan"] == "team"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/accounts/nobody/quotas", "account_not_found"),
        ("/v1/accounts/nobody/quotas/api_calls", "account_not_found"),
        ("/v1/accounts/acme/quotas/teleports", "metric_not_found"),
        ("/v1/accounts/acme/quotas/api_calls/extra", "not_found"),
        ("/v2/anything", "not_found"),
    ],
)
def test_unknown_accounts_metrics_and_routes_answer_404_with_a_code(client: TestClient, path: str, code: str):
    response = client.get(path, headers=SERVICE)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_a_metric_another_account_has_is_still_not_found_for_this_one(client: TestClient):
    response = client.get("/v1/accounts/globex/quotas/seats", headers=SERVICE)

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "metric_not_found",
        "message": "account 'globex' has no quota for metric 'seats'",
    }


def test_a_wrong_method_answers_405_in_the_error_shape(client: TestClient):
    response = client.post("/v1/accounts/acme/quotas", headers=SERVICE)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_head_on_a_lookup_answers_like_get_without_a_body(client: TestClient):
    response = client.head("/v1/accounts/acme/quotas", headers=SERVICE)

    assert response.status_code == 200
    assert response.content == b""


def test_healthz_reports_a_fresh_snapshot_as_ok_with_its_age_and_size(client: TestClient, generated_at: datetime):
    response = client.get("/healthz")

    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    snapshot = health["snapshot"]
    assert snapshot["loaded"] is True
    assert snapshot["generated_at"] == as_of_text(generated_at)
    assert 300 <= snapshot["age_seconds"] < 360
    assert (snapshot["rows"], snapshot["accounts"]) == (5, 3)
    assert snapshot["stale"] is False
    assert snapshot["last_error"] is None
    assert snapshot["load_seconds"] > 0


def test_metrics_count_requests_by_route_template_and_status(client: TestClient):
    client.get("/v1/accounts/acme/quotas", headers=SERVICE)
    client.get("/v1/accounts/acme/quotas", headers=SERVICE)
    client.get("/v1/accounts/nobody/quotas", headers=SERVICE)
    client.get("/v1/accounts/acme/quotas")

    text = client.get("/metrics").text

    route = 'route="/v1/accounts/{account_id}/quotas"'
    assert f'quotas_api_requests_total{{method="GET",{route},status="200"}} 2.0' in text
    assert f'quotas_api_requests_total{{method="GET",{route},status="404"}} 1.0' in text
    assert f'quotas_api_requests_total{{method="GET",{route},status="401"}} 1.0' in text
    assert f"quotas_api_request_duration_seconds_count{{{route}}} 4.0" in text
    assert "quotas_api_snapshot_rows 5.0" in text
    assert 'quotas_api_snapshot_reloads_total{result="loaded"} 1.0' in text
    age = next(line for line in text.splitlines() if line.startswith("quotas_api_snapshot_age_seconds "))
    assert 300 <= float(age.split()[1]) < 360


def test_requests_to_unknown_paths_share_one_metrics_label(client: TestClient):
    for n in range(3):
        client.get(f"/no/such/path/{n}")

    text = client.get("/metrics").text

    assert 'quotas_api_requests_total{method="GET",route="unmatched",status="404"} 3.0' in text
    assert "/no/such/path" not in text


def test_openapi_json_describes_every_route(client: TestClient):
    schema = client.get("/openapi.json").json()

    assert schema["openapi"] == "3.1.0"
    assert set(schema["paths"]) == {
        "/v1/accounts/{account_id}/quotas",
        "/v1/accounts/{account_id}/usage",
        "/v1/accounts/{account_id}/quotas/{metric}",
        "/v1/quotas/check",
        "/v1/events",
        "/healthz",
        "/metrics",
        "/openapi.json",
    }
    assert schema["paths"]["/v1/quotas/check"]["post"]["operationId"] == "checkQuota"
    quota = schema["components"]["schemas"]["QuotaFields"]["properties"]
    assert quota["limit"]["anyOf"] == [{"type": "number"}, {"type": "null"}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []
