"""POST /v1/events: judged like landed files, durable before the answer, counted in the next answer."""

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from starlette.testclient import TestClient

from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_FILENAME
from billing_pipeline.lib.ingest.landing_inventory import day_folder_entries
from live_service import current_period, event, publish_snapshot, write_live_service
from quotas_api.app import create_app
from quotas_api.settings import API_KEYS_FILENAME, Settings
from sample_service import ACME_KEY, SERVICE_KEY, bearer, sample_rows

SERVICE = bearer(SERVICE_KEY)


@pytest.fixture
def live_dir(tmp_path: Path) -> Path:
    write_live_service(tmp_path)
    return tmp_path


def app_settings(data_dir: Path, **more) -> Settings:
    return Settings(snapshot_path=data_dir / "serving" / SNAPSHOT_FILENAME,
                    api_keys_file=data_dir / "catalog" / API_KEYS_FILENAME, reload_interval_seconds=0.05, **more)


@pytest.fixture
def live_client(live_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings(live_dir))) as client:
        yield client


def used(client: TestClient, account_id: str = "acme", metric: str = "api_calls") -> Decimal:
    answer = client.get(f"/v1/accounts/{account_id}/quotas/{metric}", headers=SERVICE)
    assert answer.status_code == 200, answer.text
    return json.loads(answer.content, parse_float=Decimal, parse_int=Decimal)["used"]


def landed_lines(data_dir: Path) -> list[dict]:
    """Every line of every intake file, in flight or rotated."""
    return [json.loads(line) for path in sorted((data_dir / "landing" / "usage").glob("*/*intake-*.ndjson"))
            for line in path.read_text().splitlines()]


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return result


def test_a_posted_event_is_counted_in_the_very_next_quota_answer(live_client: TestClient):
    before = used(live_client)

    answer = live_client.post("/v1/events", json=event("e-1", quantity=5), headers=SERVICE)

    assert (answer.status_code, answer.json()) == (202, {"accepted": 1, "duplicates": 0, "rejected": []})
    quota = live_client.get("/v1/accounts/acme/quotas/api_calls", headers=SERVICE).json()
    assert Decimal(str(quota["used"])) == before + 5
    assert quota["live_through"] is not None and quota["remaining"] == 200000 - 150000.5 - 5


def test_a_batch_is_judged_event_by_event_by_the_ingestion_rules(live_client: TestClient):
    batch = [event("e-1"), event("e-2", metric="api_callz"), event("e-3", quantity=-1),
             {"account_id": "acme"}, event("e-4", quantity=2.5)]

    answer = live_client.post("/v1/events", json=batch, headers=SERVICE).json()

    assert answer["accepted"] == 2 and answer["duplicates"] == 0
    assert [(r["index"], r["event_id"], r["reason"]) for r in answer["rejected"]] == [
        (1, "e-2", "unknown_metric"), (2, "e-3", "invalid_quantity"), (3, None, "missing_field")]
    assert used(live_client) == Decimal("150000.5") + Decimal("7.5")


def test_a_reposted_event_id_is_a_duplicate_written_once(live_client: TestClient, live_dir: Path):
    live_client.post("/v1/events", json=event("e-1"), headers=SERVICE)

    again = live_client.post("/v1/events", json=[event("e-1"), event("e-2"), event("e-2")], headers=SERVICE).json()

    assert (again["accepted"], again["duplicates"]) == (1, 2)
    assert sorted(line["event_id"] for line in landed_lines(live_dir)) == ["e-1", "e-2"]
    assert used(live_client) == Decimal("150000.5") + 10


def test_an_account_key_posts_only_its_own_accounts_events(live_client: TestClient):
    answer = live_client.post("/v1/events", json=[event("e-1"), event("e-2", account_id="globex")],
                              headers=bearer(ACME_KEY)).json()

    assert answer["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [(1, "account_not_allowed")]


def test_a_body_that_is_not_events_is_refused_whole(live_client: TestClient):
    not_json = live_client.post("/v1/events", content=b"[{", headers=SERVICE)
    not_objects = live_client.post("/v1/events", json=[event("e-1"), 3], headers=SERVICE)
    too_many = live_client.post("/v1/events", json=[event(f"e-{n}") for n in range(1001)], headers=SERVICE)

    assert [not_json.status_code, not_objects.status_code, too_many.status_code] == [400, 422, 413]
    assert used(live_client) == Decimal("150000.5")


def test_the_open_intake_file_is_hidden_from_ingestion_until_it_is_rotated(live_dir: Path):
    landing = live_dir / "landing" / "usage"
    today = datetime.now(UTC).date()
    with TestClient(create_app(app_settings(live_dir))) as client:
        client.post("/v1/events", json=event("e-1"), headers=SERVICE)
        while_open = day_folder_entries(landing, today)
    after_stop = day_folder_entries(landing, today)

    assert [(e.rel.split("/")[1][:8], e.reason) for e in while_open] == [(".intake-", "hidden_file")]
    assert [(e.rel.split("/")[1][:7], e.reason) for e in after_stop] == [("intake-", None)]


def test_an_intake_file_is_rotated_by_age_while_the_api_runs(live_dir: Path):
    landing = live_dir / "landing" / "usage"
    with TestClient(create_app(app_settings(live_dir, intake_max_age_seconds=0.1))) as client:
        client.post("/v1/events", json=event("e-1"), headers=SERVICE)
        rotated = wait_for(lambda: [e for e in day_folder_entries(landing, datetime.now(UTC).date()) if e.reason is None])
        assert used(client) == Decimal("150000.5") + 5

    assert len(rotated) == 1 and [line["event_id"] for line in landed_lines(live_dir)] == ["e-1"]


def test_around_a_snapshot_swap_nothing_is_counted_twice_or_dropped(live_dir: Path):
    """The new snapshot includes the first file (its usage now in `used`), not the second."""
    with TestClient(create_app(app_settings(live_dir, intake_max_age_seconds=0.1))) as client:
        client.post("/v1/events", json=event("e-1", quantity=5), headers=SERVICE)
        first = wait_for(lambda: [e.rel for e in day_folder_entries(live_dir / "landing" / "usage",
                                                                     datetime.now(UTC).date()) if e.reason is None])
        client.post("/v1/events", json=event("e-2", quantity=7), headers=SERVICE)
        assert used(client) == Decimal("150000.5") + 12

        rows = current_period(sample_rows())
        is_it = (rows["account_id"] == "acme") & (rows["metric"] == "api_calls")
        rated = rows.with_columns(used=pl.when(is_it).then(pl.col("used") + 5).otherwise("used").cast(rows["used"].dtype))
        as_of = publish_snapshot(live_dir, rated, first)
        wait_for(lambda: client.get("/v1/accounts/acme/quotas/api_calls", headers=SERVICE).json()["as_of"] == as_of)

        assert used(client) == Decimal("150000.5") + 12


def test_a_restarted_api_counts_and_knows_what_it_accepted_before(live_dir: Path):
    with TestClient(create_app(app_settings(live_dir))) as client:
        client.post("/v1/events", json=event("e-1", quantity=5), headers=SERVICE)

    with TestClient(create_app(app_settings(live_dir))) as client:
        again = client.post("/v1/events", json=event("e-1", quantity=5), headers=SERVICE).json()
        assert (again["accepted"], again["duplicates"]) == (0, 1)
        assert used(client) == Decimal("150000.5") + 5


def test_without_a_catalog_events_are_refused_with_503_and_lookups_go_on(live_dir: Path):
    (live_dir / "catalog" / "plans.yaml").unlink()
    with TestClient(create_app(app_settings(live_dir))) as client:
        posted = client.post("/v1/events", json=event("e-1"), headers=SERVICE)
        lookup = client.get("/v1/accounts/acme/quotas/api_calls", headers=SERVICE)

    assert (posted.status_code, posted.json()["error"]["code"], lookup.status_code) == (503, "catalog_unavailable", 200)


def test_concurrent_posts_accepted_together_are_each_answered_as_if_alone(live_client: TestClient, live_dir: Path):
    # 8 threads post at once, so the group commit takes several requests in one step. Each request
    # repeats 5 ids of its neighbour's and holds one invalid event: the neighbour's ids count once in
    # all, and every rejection keeps its own request's index.
    before = used(live_client)
    answers: dict[int, dict] = {}

    def post(thread: int) -> None:
        ids = [f"group-{thread}-{n}" for n in range(20)] + [f"group-{(thread + 1) % 8}-{n}" for n in range(5)]
        events = [event(i, quantity=1) for i in ids] + [event(f"group-{thread}-bad", metric="no_such_metric")]
        answer = live_client.post("/v1/events", json=events, headers=SERVICE)
        assert answer.status_code == 202, answer.text
        answers[thread] = answer.json()

    threads = [threading.Thread(target=post, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(a["accepted"] for a in answers.values()) == 8 * 20
    assert sum(a["duplicates"] for a in answers.values()) == 8 * 5
    assert all(a["rejected"] == [{"index": 25, "event_id": f"group-{t}-bad", "reason": "unknown_metric",
                                  "detail": "metric no_such_metric is not a metric code in plans.yaml"}]
               for t, a in answers.items())
    assert used(live_client) == before + 8 * 20
    written = [line["event_id"] for line in landed_lines(live_dir) if line["event_id"].startswith("group-")]
    assert sorted(written) == sorted(f"group-{t}-{n}" for t in range(8) for n in range(20))
