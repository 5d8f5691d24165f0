import os
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from billing_pipeline.exchange.quota_snapshot import as_of_text, write_quota_snapshot
from quota_rows import frame_of, quota_row
from quotas_api.app import create_app
from quotas_api.settings import Settings
from sample_service import SERVICE_KEY, bearer, sample_rows

SERVICE = bearer(SERVICE_KEY)


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def publish_bytes(path: Path, content: bytes) -> None:
    """Replace the snapshot the way a careless publisher might: atomically, but with bad content."""
    tmp = path.with_name(".incoming")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def health(client: TestClient) -> dict:
    return client.get("/healthz").json()


def test_with_no_snapshot_at_start_health_is_503_and_lookups_say_so(settings: Settings):
    settings.snapshot_path.unlink()

    with TestClient(create_app(settings)) as client:
        healthz = client.get("/healthz")
        lookup = client.get("/v1/accounts/acme/quotas", headers=SERVICE)
        checked = client.post("/v1/quotas/check", json={"account_id": "acme", "metric": "x", "quantity": 1}, headers=SERVICE)

    assert healthz.status_code == 503
    assert healthz.json()["status"] == "unhealthy"
    assert healthz.json()["snapshot"]["loaded"] is False
    assert "no snapshot file at" in healthz.json()["snapshot"]["last_error"]
    for response in (lookup, checked):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "snapshot_unavailable"
        assert "no quota snapshot is loaded yet" in response.json()["error"]["message"]


def test_a_snapshot_published_after_start_is_picked_up(settings: Settings, generated_at: datetime):
    settings.snapshot_path.unlink()

    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/accounts/acme/quotas", headers=SERVICE).status_code == 503
        write_quota_snapshot(sample_rows(), settings.snapshot_path.parent, generated_at)

        wait_for(lambda: health(client)["status"] == "ok")
        assert client.get("/v1/accounts/acme/quotas", headers=SERVICE).status_code == 200


def test_a_new_snapshot_replaces_the_served_one(client: TestClient, settings: Settings, generated_at: datetime):
    newer = generated_at + timedelta(minutes=1)

    rows = frame_of(quota_row(used=Decimal(1), remaining=Decimal(199999), percent_used=Decimal(0)))
    write_quota_snapshot(rows, settings.snapshot_path.parent, newer)

    wait_for(lambda: health(client)["snapshot"]["generated_at"] == as_of_text(newer))
    body = client.get("/v1/accounts/acme/quotas/api_calls", headers=SERVICE).json()
    assert (body["used"], body["as_of"]) == (1, as_of_text(newer))
    assert client.get("/v1/accounts/globex/quotas", headers=SERVICE).status_code == 404


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"garbage", "not a readable Parquet file"),
        (None, "missing column(s) serving_header, serving_quota"),
    ],
)
def test_a_corrupt_new_snapshot_keeps_the_last_good_one_in_service_and_health_says_why(
    client: TestClient, settings: Settings, generated_at: datetime, tmp_path: Path, content: bytes | None, reason: str
):
    if content is None:
        # Readable Parquet with the right metadata but the pre-rendered columns stripped.
        table = pq.read_table(settings.snapshot_path)
        pq.write_table(table.drop_columns(["serving_header", "serving_quota"]), tmp_path / "stripped.parquet")
        content = (tmp_path / "stripped.parquet").read_bytes()

    publish_bytes(settings.snapshot_path, content)

    degraded = wait_for(lambda: (h := health(client))["status"] == "degraded" and h)
    assert reason in degraded["snapshot"]["last_error"]
    assert degraded["snapshot"]["generated_at"] == as_of_text(generated_at)
    lookup = client.get("/v1/accounts/acme/quotas", headers=SERVICE)
    assert lookup.status_code == 200
    assert lookup.json()["as_of"] == as_of_text(generated_at)
    assert 'quotas_api_snapshot_reloads_total{result="rejected"} 1.0' in client.get("/metrics").text

    newer = generated_at + timedelta(minutes=2)
    write_quota_snapshot(sample_rows(), settings.snapshot_path.parent, newer)
    recovered = wait_for(lambda: (h := health(client))["status"] == "ok" and h)
    assert recovered["snapshot"]["last_error"] is None
    assert recovered["snapshot"]["generated_at"] == as_of_text(newer)


def test_a_rejected_file_is_not_reloaded_again_until_it_changes(client: TestClient, settings: Settings):
    publish_bytes(settings.snapshot_path, b"garbage")
    wait_for(lambda: health(client)["status"] == "degraded")

    time.sleep(0.3)  # several reload intervals

    assert 'quotas_api_snapshot_reloads_total{result="rejected"} 1.0' in client.get("/metrics").text


def test_a_deleted_snapshot_keeps_being_served_and_health_reports_it(client: TestClient, settings: Settings):
    settings.snapshot_path.unlink()

    degraded = wait_for(lambda: (h := health(client))["status"] == "degraded" and h)
    assert "disappeared" in degraded["snapshot"]["last_error"]
    assert client.get("/v1/accounts/acme/quotas", headers=SERVICE).status_code == 200


def test_an_old_snapshot_is_served_but_health_calls_it_stale(settings: Settings, generated_at: datetime):
    write_quota_snapshot(sample_rows(), settings.snapshot_path.parent, generated_at - timedelta(days=2))

    with TestClient(create_app(settings)) as client:
        healthz = client.get("/healthz").json()
        lookup = client.get("/v1/accounts/acme/quotas", headers=SERVICE)

    assert (healthz["status"], healthz["snapshot"]["stale"]) == ("degraded", True)
    assert lookup.status_code == 200
