"""Fixtures: a data folder holding the sample service, its settings, and a TestClient on it."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_FILENAME
from quotas_api.app import create_app
from quotas_api.settings import API_KEYS_FILENAME, Settings
from sample_service import write_sample_service


@pytest.fixture
def generated_at() -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)


@pytest.fixture
def data_dir(tmp_path: Path, generated_at: datetime) -> Path:
    write_sample_service(tmp_path, generated_at)
    return tmp_path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(
        snapshot_path=data_dir / "serving" / SNAPSHOT_FILENAME,
        api_keys_file=data_dir / "catalog" / API_KEYS_FILENAME,
        reload_interval_seconds=0.05,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
