"""Check-and-consume on a real uvicorn process: atomic under concurrency, durable across kill -9."""

import json
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from live_service import acme_api_calls, event, write_live_service
from sample_service import SERVICE_KEY, bearer
from uvicorn_process import Server, uvicorn_server

SERVICE = bearer(SERVICE_KEY)


def serve(data_dir: Path, log_name: str = "server.log"):
    return uvicorn_server("quotas_api.app:app", {"BILLING_DATA_DIR": str(data_dir)}, data_dir / log_name)


@pytest.fixture
def last_100(tmp_path: Path) -> Iterator[Server]:
    """acme's hard api_calls limit with 100 units left."""
    write_live_service(tmp_path, acme_api_calls(used=Decimal(199900)))
    with serve(tmp_path) as server:
        yield server


def consume(client: httpx.Client, event_id: str, quantity: int = 1, **more) -> httpx.Response:
    return client.post("/v1/quotas/check", headers=SERVICE, json={
        "account_id": "acme", "metric": "api_calls", "quantity": quantity, "consume": True, "event_id": event_id, **more})


def test_fifty_threads_consuming_the_last_100_units_are_granted_exactly_100(last_100: Server):
    def worker(thread: int) -> list[bool]:
        with httpx.Client(base_url=last_100.base_url, timeout=30) as client:
            return [consume(client, f"t{thread}-{n}").json()["allowed"] for n in range(4)]

    with ThreadPoolExecutor(50) as pool:
        granted = sum(sum(answers) for answers in pool.map(worker, range(50)))

    quota = httpx.get(last_100.base_url + "/v1/accounts/acme/quotas/api_calls", headers=SERVICE).json()
    assert granted == 100
    assert (quota["used"], quota["remaining"]) == (200000, 0)


def test_at_exactly_the_limit_a_check_says_the_quota_is_exhausted(last_100: Server):
    with httpx.Client(base_url=last_100.base_url) as client:
        assert consume(client, "all", quantity=100).json()["consumed"] is True
        refused = consume(client, "one-more").json()

    assert (refused["allowed"], refused["reason"], refused["used"], refused["remaining"]) == (
        False, "quota_exhausted", 200000, 0)


def test_consuming_the_same_event_id_again_records_nothing_more(last_100: Server):
    with httpx.Client(base_url=last_100.base_url) as client:
        first = consume(client, "e-1", quantity=60).json()
        again = consume(client, "e-1", quantity=60).json()

    assert (first["consumed"], first["duplicate"]) == (True, False)
    assert (again["allowed"], again["consumed"], again["duplicate"], again["reason"]) == (
        True, False, True, "already_consumed")
    assert again["used"] == 199960


def test_the_enforcing_form_refuses_with_429_retry_after_and_words_for_the_user(last_100: Server):
    with httpx.Client(base_url=last_100.base_url) as client:
        refused = consume(client, "too-much", quantity=101, enforce=True)

    body = refused.json()
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == body["retry_after_seconds"] > 0
    assert (body["error"]["code"], body["current_usage"], body["limit"], body["requested"]) == (
        "hard_limit_exceeded", 199900, 200000, 101)
    assert "resets on" in body["next_step"]


def test_every_event_acknowledged_before_a_kill_9_is_in_the_landed_files_after_restart(tmp_path: Path):
    write_live_service(tmp_path)
    with serve(tmp_path) as server:
        with httpx.Client(base_url=server.base_url) as client:
            acknowledged = [client.post("/v1/events", headers=SERVICE, json=[event(f"b{batch}-{n}") for n in range(50)])
                            for batch in range(5)]
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
    assert {a.status_code for a in acknowledged} == {202}

    with serve(tmp_path, "restarted.log") as server:
        quota = httpx.get(server.base_url + "/v1/accounts/acme/quotas/api_calls", headers=SERVICE).json()
        landed = sorted((tmp_path / "landing" / "usage").glob("*/intake-*.ndjson"))

    ids = [json.loads(line)["event_id"] for path in landed for line in path.read_text().splitlines()]
    assert sorted(ids) == sorted(f"b{batch}-{n}" for batch in range(5) for n in range(50))
    assert Decimal(str(quota["used"])) == Decimal("150000.5") + 250 * 5
