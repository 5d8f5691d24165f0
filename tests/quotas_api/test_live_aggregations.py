"""Events accepted since the snapshot move each metric by its aggregation, the same in quota answers,
checks, check-and-consume and usage answers: count one per event, max the peak, unique_count the
distinct values (over-counting rather than under-counting), sum the quantities."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from starlette.testclient import TestClient

from billing_pipeline.exchange.quota_snapshot import write_quota_snapshot
from billing_pipeline.exchange.usage_snapshot import write_usage_snapshot
from live_service import current_period, event
from quota_rows import frame_of, quota_row
from quotas_api.app import create_app
from quotas_api.live_counters import InMemoryLiveCounters
from quotas_api.live_quantity import CountedEvent
from sample_service import SERVICE_KEY, bearer, sample_usage_rows, write_sample_service
from test_event_intake import app_settings

SERVICE = bearer(SERVICE_KEY)
# (metric, aggregation in the sample catalog): used, hard limit
SNAPSHOT = {"api_calls": (100, 1000), "exports": (8, 10), "seats": (12, 20), "active_users": (3, 5)}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """acme with a hard limit on a sum, a count, a max and a unique_count metric; quota and usage
    snapshots of the same run."""
    generated_at = datetime.now(UTC)
    write_sample_service(tmp_path, generated_at)
    rows = current_period(frame_of(*(
        quota_row(metric=metric, used=Decimal(used), limit=Decimal(limit), remaining=Decimal(limit - used),
                  percent_used=Decimal(used * 100 / limit).quantize(Decimal("0.01")), included=Decimal(0))
        for metric, (used, limit) in SNAPSHOT.items())))
    write_usage_snapshot(sample_usage_rows(rows), tmp_path / "serving", generated_at)
    write_quota_snapshot(rows, tmp_path / "serving", generated_at)
    with TestClient(create_app(app_settings(tmp_path))) as test_client:
        yield test_client


def post(client: TestClient, *events: dict) -> dict:
    answer = client.post("/v1/events", headers=SERVICE, json=list(events))
    assert answer.status_code == 202, answer.text
    return answer.json()


def quota_used(client: TestClient, metric: str) -> Decimal:
    answer = client.get(f"/v1/accounts/acme/quotas/{metric}", headers=SERVICE)
    return json.loads(answer.content, parse_float=Decimal, parse_int=Decimal)["used"]


def usage_used(client: TestClient, metric: str) -> Decimal:
    answer = client.get("/v1/accounts/acme/usage", headers=SERVICE)
    assert answer.status_code == 200, answer.text
    [found] = [m for m in json.loads(answer.content, parse_float=Decimal, parse_int=Decimal)["metrics"]
               if m["metric"] == metric]
    return found["used"]


def consume(client: TestClient, metric: str, quantity: object, event_id: str) -> dict:
    answer = client.post("/v1/quotas/check", headers=SERVICE, json={
        "account_id": "acme", "metric": metric, "quantity": quantity, "consume": True, "event_id": event_id})
    return {"status": answer.status_code, **answer.json()}


def test_a_count_metric_adds_one_per_event_whatever_the_events_quantity(client: TestClient):
    post(client, event("x1", metric="exports", quantity=7), event("x2", metric="exports", quantity=7))

    assert quota_used(client, "exports") == usage_used(client, "exports") == 10


def test_a_max_metric_is_the_larger_of_the_snapshots_peak_and_the_live_peak(client: TestClient):
    post(client, event("s1", metric="seats", quantity=15), event("s2", metric="seats", quantity=9))
    peak = quota_used(client, "seats"), usage_used(client, "seats")
    post(client, event("s3", metric="seats", quantity=5))

    assert peak == (quota_used(client, "seats"), usage_used(client, "seats")) == (15, 15)


def test_a_max_metric_below_the_snapshots_peak_leaves_it_unchanged(client: TestClient):
    post(client, event("s1", metric="seats", quantity=4))

    assert quota_used(client, "seats") == usage_used(client, "seats") == 12


def test_a_unique_count_metric_adds_each_new_value_once_and_events_without_one_add_nothing(client: TestClient):
    post(client, event("u1", metric="active_users", user_id="ann"), event("u2", metric="active_users", user_id="ann"),
         event("u3", metric="active_users", user_id="bob"), event("u4", metric="active_users"))

    # 3 in the snapshot + ann + bob: counted even if the snapshot had counted them (never under the truth).
    assert quota_used(client, "active_users") == usage_used(client, "active_users") == 5


def test_a_sum_metric_adds_the_quantities(client: TestClient):
    post(client, event("a1", quantity=2.5), event("a2", quantity=7))

    assert quota_used(client, "api_calls") == usage_used(client, "api_calls") == Decimal("109.5")


def test_consuming_a_count_metric_uses_one_per_event_up_to_the_hard_limit(client: TestClient):
    answers = [consume(client, "exports", 5, f"c{n}") for n in range(3)]

    assert [(a["allowed"], a["reason"], a["used"]) for a in answers] == [
        (True, "within_limit", 8), (True, "within_limit", 9), (False, "quota_exhausted", 10)]
    assert quota_used(client, "exports") == 10


def test_consuming_a_max_metric_checks_the_new_peak_against_the_limit(client: TestClient):
    raised = consume(client, "seats", 18, "p1")
    too_high = consume(client, "seats", 21, "p2")
    below_peak = consume(client, "seats", 10, "p3")

    assert (raised["consumed"], raised["remaining_after"]) == (True, 2)
    assert (too_high["allowed"], too_high["reason"]) == (False, "hard_limit_exceeded")
    assert (below_peak["consumed"], below_peak["remaining_after"]) == (True, 2)
    assert quota_used(client, "seats") == 18


def test_consuming_a_unique_count_metric_is_refused_with_a_reason(client: TestClient):
    answer = consume(client, "active_users", 1, "v1")

    assert (answer["status"], answer["error"]["code"]) == (422, "not_consumable")
    assert quota_used(client, "active_users") == 3


def test_forgetting_a_file_keeps_the_peak_and_values_of_the_files_still_counted():
    counters = InMemoryLiveCounters()
    now = datetime.now(UTC)

    def seats(event_id: str, quantity: int, user: str) -> CountedEvent:
        return CountedEvent(event_id, "acme", "seats", "2026-12", "2026-12-01", Decimal(quantity), "max", user)

    counters.add("a", [seats("1", 15, "ann")], now)
    counters.add("b", [seats("2", 9, "bob"), seats("3", 4, "ann")], now)
    counters.forget_files({"a"})
    live = counters.live("acme", "seats", "2026-12")

    assert live is not None
    assert (live.peak, live.events, live.quantity, live.values) == (9, 2, 13, {"ann", "bob"})
    assert live.moved_on(Decimal(7)) == 9
