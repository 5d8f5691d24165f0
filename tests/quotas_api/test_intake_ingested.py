"""An event posted to the API is counted once before the pipeline ingests it and once after: real
ingestion of the intake file into a DuckDB warehouse, then a snapshot listing what it includes."""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from starlette.testclient import TestClient

from billing_pipeline.defs.serve.quota_snapshot import included_files
from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_FILENAME
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest.usage_events import ingest_day
from billing_pipeline.lib.periods import month_start
from billing_pipeline.lib.warehouse import connect
from live_service import current_period, event, publish_snapshot, write_live_service
from quotas_api.app import create_app
from quotas_api.settings import API_KEYS_FILENAME, Settings
from sample_service import SERVICE_KEY, bearer, sample_rows

SERVICE = bearer(SERVICE_KEY)


def used(client: TestClient) -> Decimal:
    return json.loads(client.get("/v1/accounts/acme/quotas/api_calls", headers=SERVICE).content,
                      parse_float=Decimal, parse_int=Decimal)["used"]


def test_a_posted_event_is_counted_exactly_once_after_the_pipeline_ingests_it(tmp_path: Path):
    write_live_service(tmp_path)
    settings = Settings(snapshot_path=tmp_path / "serving" / SNAPSHOT_FILENAME,
                        api_keys_file=tmp_path / "catalog" / API_KEYS_FILENAME, reload_interval_seconds=0.05,
                        intake_max_age_seconds=0.1)
    landing = tmp_path / "landing" / "usage"
    today = datetime.now(UTC).date()
    with TestClient(create_app(settings)) as client:
        client.post("/v1/events", json=event("e-1", quantity=2.5), headers=SERVICE)
        assert used(client) == Decimal("150000.5") + Decimal("2.5")
        while not list(landing.glob("*/intake-*.ndjson")):  # rotated by age
            time.sleep(0.02)

        # The pipeline: ingest the day folder, rate (here: the ingested usage added to the rows), publish.
        with connect(tmp_path / "warehouse.duckdb") as con:
            write_catalog(con, read_catalog(tmp_path / "catalog"))
            summary = ingest_day(con, landing, today)
            ingested = con.execute("SELECT sum(quantity) FROM raw.usage_events_loaded WHERE account_id = 'acme' "
                                   "AND metric = 'api_calls'").fetchall()[0][0]
            files = included_files(con, month_start(today))
        rows = current_period(sample_rows())
        is_it = (rows["account_id"] == "acme") & (rows["metric"] == "api_calls")
        rated = rows.with_columns(used=pl.when(is_it).then(pl.col("used") + ingested).otherwise("used").cast(rows["used"].dtype))
        as_of = publish_snapshot(tmp_path, rated, files)
        while client.get("/v1/accounts/acme/quotas/api_calls", headers=SERVICE).json()["as_of"] != as_of:
            time.sleep(0.02)

        assert (summary.loaded, ingested, len(files)) == (1, Decimal("2.5"), 1)
        assert used(client) == Decimal("150000.5") + Decimal("2.5")
