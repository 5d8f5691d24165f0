"""The service as deployed: a uvicorn process configured from the environment, on loopback."""

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import polars as pl

from billing_pipeline.exchange.quota_snapshot import as_of_text, write_quota_snapshot
from quota_rows import synthetic_quota_rows
from sample_service import ACME_KEY, SERVICE_KEY, bearer, write_sample_service
from uvicorn_process import uvicorn_server

APP = "quotas_api.app:app"


def environment(data_dir: Path) -> dict[str, str]:
    return {"BILLING_DATA_DIR": str(data_dir), "QUOTAS_API_RELOAD_INTERVAL": "0.05"}


def test_uvicorn_serves_the_snapshot_found_through_billing_data_dir(tmp_path: Path):
    generated_at = datetime.now(UTC).replace(microsecond=0)
    write_sample_service(tmp_path, generated_at)

    with uvicorn_server(APP, environment(tmp_path), tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.base_url) as client:
            quotas = client.get("/v1/accounts/acme/quotas", headers=bearer(ACME_KEY))
            denied = client.get("/v1/accounts/globex/quotas", headers=bearer(ACME_KEY))
            unauthorised = client.get("/v1/accounts/acme/quotas", headers=bearer("qk_guess"))
            checked = client.post(
                "/v1/quotas/check",
                json={"account_id": "acme", "metric": "api_calls", "quantity": 10},
                headers=bearer(SERVICE_KEY),
            )
            healthz = client.get("/healthz")
            metrics = client.get("/metrics")
        log = server.log()

    assert quotas.status_code == 200
    assert quotas.json()["as_of"] == as_of_text(generated_at)
    assert denied.status_code == 404
    assert unauthorised.status_code == 401
    assert checked.json()["allowed"] is True
    assert healthz.json()["status"] == "ok"
    assert healthz.json()["snapshot"]["path"] == str(tmp_path / "serving" / "quota_snapshot.parquet")
    assert 'quotas_api_requests_total{method="GET",route="/v1/accounts/{account_id}/quotas",status="200"} 1.0' in (
        metrics.text
    )
    assert "GET /v1/accounts/acme/quotas HTTP/1.1" in log  # the access log is on, and still holds no key
    for secret in (ACME_KEY, SERVICE_KEY, "qk_guess"):
        assert secret not in log


def versioned_rows(version: int) -> pl.DataFrame:
    """20k accounts x 8 metrics whose `used` is the version everywhere, so a body shows its origin."""
    rows = synthetic_quota_rows(accounts=20_000)
    used = pl.lit(Decimal(version)).cast(pl.Decimal(18, 6))
    remaining = pl.when(pl.col("limit").is_not_null()).then(pl.col("limit") - used).cast(pl.Decimal(18, 6))
    return rows.with_columns(used=used, remaining=remaining)


def test_reloads_under_concurrent_requests_fail_no_request_and_tear_no_answer(tmp_path: Path):
    write_sample_service(tmp_path, datetime.now(UTC))
    start = datetime.now(UTC).replace(microsecond=0)
    versions = {as_of_text(start + timedelta(seconds=v)): v for v in range(5)}
    write_quota_snapshot(versioned_rows(0), tmp_path / "serving", start)

    with uvicorn_server(APP, environment(tmp_path), tmp_path / "server.log") as server:
        stop = threading.Event()

        def publish() -> None:
            for version in range(1, 5):
                time.sleep(0.4)
                write_quota_snapshot(versioned_rows(version), tmp_path / "serving", start + timedelta(seconds=version))
            time.sleep(0.5)
            stop.set()

        publisher = threading.Thread(target=publish)
        publisher.start()
        outcomes = asyncio.run(hammer(server.base_url, stop, workers=16))
        publisher.join()
        healthz = httpx.get(server.base_url + "/healthz").json()

    failures = [o for o in outcomes if o[0] != 200]
    assert not failures, failures[:5]
    seen = {as_of for _, as_of, _ in outcomes}
    assert seen <= set(versions) and len(seen) >= 3  # answers came from several snapshots
    assert all(used == versions[as_of] for _, as_of, used in outcomes)
    assert healthz["snapshot"]["generated_at"] == as_of_text(start + timedelta(seconds=4))
    assert len(outcomes) > 500


async def hammer(base_url: str, stop: threading.Event, workers: int) -> list[tuple[int, str | None, Decimal | None]]:
    outcomes: list[tuple[int, str | None, Decimal | None]] = []
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=base_url, headers=bearer(SERVICE_KEY), limits=limits) as client:

        async def worker(n: int) -> None:
            account = n * 1000
            while not stop.is_set():
                account = (account + 7) % 20_000
                try:
                    response = await client.get(f"/v1/accounts/acct_{account:06d}/quotas/api_calls")
                except httpx.HTTPError as exc:
                    outcomes.append((0, repr(exc), None))
                    continue
                if response.status_code != 200:
                    outcomes.append((response.status_code, response.text, None))
                    continue
                body = response.json()
                outcomes.append((200, body["as_of"], Decimal(str(body["used"]))))

        await asyncio.gather(*(worker(n) for n in range(workers)))
    return outcomes
