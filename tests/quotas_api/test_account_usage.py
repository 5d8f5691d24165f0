"""Usage for people, end to end on real data: a warehouse rated by dbt for the current month, the
real serve asset materialized through Dagster, the API on its files, and an event posted to it."""

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import pytest
from starlette.testclient import TestClient

from billing_pipeline.defs.serve.quota_snapshot import quota_snapshot
from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_FILENAME
from billing_pipeline.exchange.usage_snapshot import USAGE_SNAPSHOT_FILENAME
from billing_pipeline.lib.periods import month_start, next_month
from billing_pipeline.lib.warehouse import BillingData
from quotas_api.api_keys import add_key_to_file, key_entry
from quotas_api.app import create_app
from quotas_api.settings import API_KEYS_FILENAME, Settings
from sample_service import ACME_KEY, GLOBEX_KEY, SERVICE_KEY, bearer
from tests.dbt.rating_warehouse import Event, RatingWorld

TODAY = datetime.now(UTC).date()
START = month_start(TODAY)


def _use(account: str, metric: str, quantity: str, day: date) -> Event:
    return Event(account, metric, quantity, f"{day.isoformat()} 00:00:00", day.isoformat())


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Path:
    """acme (basic: api_calls 1000 included then 0.01 each, exports 2.00 per 10) used 1,500 calls on the
    month's first day and 700 today, and exported 3 times; globex used nothing. Rated as of today, then
    the serve asset published the quota and usage snapshots."""
    rated = tmp_path_factory.mktemp("usage_world") / "data"
    world = RatingWorld.create(rated, accounts=[("acme", "active"), ("globex", "active")],
                               subscriptions=[("acme", "basic", START.isoformat(), "", "0"),
                                              ("globex", "basic", START.isoformat(), "", "0")])
    world.land(_use("acme", "api_calls", "1500", START), _use("acme", "api_calls", "700", TODAY),
               *[_use("acme", "exports", "1", START) for _ in range(3)])
    run = world.rate(START, TODAY)
    assert run.success, run.with_status("fail", "error")
    # In-process dbt keeps its DuckDB instance open read-write; the asset opens the warehouse read-only,
    # which DuckDB refuses on the same file in one process: serve a copy.
    root = rated.parent / "served"
    shutil.copytree(rated, root)
    result = dg.materialize([quota_snapshot], resources={"billing_data": BillingData(data_dir=str(root))})
    assert result.success
    keys = root / "catalog" / API_KEYS_FILENAME
    for name, key, account in (("gateway", SERVICE_KEY, None), ("acme", ACME_KEY, "acme"), ("globex", GLOBEX_KEY, "globex")):
        add_key_to_file(keys, key_entry(name, key, account))
    return root


@pytest.fixture
def client(served: Path) -> TestClient:
    settings = Settings(snapshot_path=served / "serving" / SNAPSHOT_FILENAME, api_keys_file=served / "catalog" / API_KEYS_FILENAME,
                        reload_interval_seconds=0.05)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def usage(client: TestClient, account: str = "acme", key: str = SERVICE_KEY) -> dict:
    answer = client.get(f"/v1/accounts/{account}/usage", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return json.loads(answer.content, parse_float=Decimal, parse_int=Decimal)


def test_the_serve_asset_publishes_the_usage_snapshot_beside_the_quota_snapshot(served: Path):
    assert (served / "serving" / USAGE_SNAPSHOT_FILENAME).is_file()
    assert (served / "serving" / SNAPSHOT_FILENAME).is_file()


def test_usage_answers_the_rated_usage_per_metric_and_day_and_the_draft_invoice(client: TestClient, served: Path):
    answer = usage(client)
    world = RatingWorld(BillingData(data_dir=str(served)).paths)
    [invoice] = world.query("select * from fct_invoices where account_id = 'acme' and period = ?", START.strftime("%Y-%m"))
    metrics = {m["metric"]: m for m in answer["metrics"]}
    days = {"api_calls": {START.isoformat(): Decimal(1500)}}
    days["api_calls"][TODAY.isoformat()] = days["api_calls"].get(TODAY.isoformat(), 0) + Decimal(700)

    assert (answer["period"], answer["period_start"], answer["period_end"]) == (
        START.strftime("%Y-%m"), START.isoformat(), next_month(START).isoformat())
    assert sorted(metrics) == ["active_users", "api_calls", "exports", "seats"]  # every catalog metric
    assert metrics["api_calls"]["used"] == 2200 and metrics["exports"]["used"] == 3
    assert {d["date"]: d["quantity"] for d in metrics["api_calls"]["days"]} == days["api_calls"]
    assert answer["draft_invoice"] == {"currency": "USD", "exponent": 2, "rated_as_of": TODAY.isoformat(),
                                       "subtotal": invoice["subtotal_cents"], "discount": invoice["discount_cents"],
                                       "credits_applied": invoice["credits_applied_cents"], "total": invoice["total_cents"]}


def test_the_projection_is_linear_on_elapsed_days_and_scales_only_the_usage_lines(client: TestClient, served: Path):
    answer = usage(client)
    world = RatingWorld(BillingData(data_dir=str(served)).paths)
    lines = world.query("select line_type, metric, amount_cents from fct_invoice_lines where account_id = 'acme' "
                        "and period = ?", START.strftime("%Y-%m"))
    days_in_period, elapsed = (next_month(START) - START).days, (TODAY - START).days + 1
    metrics = {m["metric"]: m for m in answer["metrics"]}
    scaled = sum(int((Decimal(line["amount_cents"]) * days_in_period / elapsed).quantize(Decimal(1), ROUND_HALF_UP))
                 if line["line_type"] == "usage" else line["amount_cents"] for line in lines)

    assert (answer["projection"]["days_in_period"], answer["projection"]["elapsed_days"]) == (days_in_period, elapsed)
    assert metrics["api_calls"]["projected"] == (Decimal(2200) * days_in_period / elapsed).quantize(Decimal("1e-9"), ROUND_HALF_UP)
    assert answer["projection"]["charge"] == {"currency": "USD", "exponent": 2, "total": scaled}
    assert "linear on elapsed days" in answer["projection"]["method"]


def test_a_posted_event_shows_up_on_its_day_in_the_very_next_usage_answer(client: TestClient):
    before = usage(client)
    posted = client.post("/v1/events", headers=bearer(SERVICE_KEY), json={
        "event_id": "live-1", "account_id": "acme", "metric": "api_calls", "quantity": 7.25,
        "occurred_at": datetime.now(UTC).isoformat()})
    after = usage(client)

    def today(answer: dict) -> tuple[Decimal, Decimal]:
        """api_calls used in the period, and on today."""
        [calls] = [m for m in answer["metrics"] if m["metric"] == "api_calls"]
        return calls["used"], {d["date"]: d["quantity"] for d in calls["days"]}.get(TODAY.isoformat(), 0)

    assert posted.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert today(after) == (today(before)[0] + Decimal("7.25"), today(before)[1] + Decimal("7.25"))
    assert after["live_through"] is not None


def test_an_account_key_sees_only_its_own_account_and_an_unknown_account_is_404(client: TestClient):
    assert usage(client, "acme", ACME_KEY)["account_id"] == "acme"
    foreign = client.get("/v1/accounts/acme/usage", headers=bearer(GLOBEX_KEY))
    unknown = client.get("/v1/accounts/nobody/usage", headers=bearer(SERVICE_KEY))
    assert (foreign.status_code, foreign.json()) == (404, {
        "error": {"code": "account_not_found", "message": "no open-period usage for account 'acme'"}})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "account_not_found")


def test_the_usage_endpoint_is_in_the_openapi_description(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/accounts/{account_id}/usage"]["get"]["operationId"] == "getAccountUsage"


def test_a_new_usage_snapshot_is_served_without_a_restart_once_its_quota_snapshot_is(client: TestClient, served: Path):
    before = usage(client)
    result = dg.materialize([quota_snapshot], resources={"billing_data": BillingData(data_dir=str(served))})
    assert result.success
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while (answer := client.get("/v1/accounts/acme/usage", headers=bearer(SERVICE_KEY))).status_code != 200 \
            or answer.json()["as_of"] == before["as_of"]:
        assert datetime.now(UTC) < deadline, answer.text
    assert answer.json()["as_of"] > before["as_of"]
