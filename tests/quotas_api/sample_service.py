"""The service the API tests run against: a small snapshot, two tenants and a service key."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml

from billing_pipeline.exchange.quota_snapshot import write_quota_snapshot
from billing_pipeline.sample.catalog_files import PLANS_YAML
from quota_rows import frame_of, quota_row
from quotas_api.api_keys import add_key_to_file, key_entry
from quotas_api.settings import API_KEYS_FILENAME

SERVICE_KEY = "qk_test_service_key_0123456789"
ACME_KEY = "qk_test_acme_key_0123456789"
GLOBEX_KEY = "qk_test_globex_key_0123456789"
ACCOUNTS = ("acme", "globex", "initech")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sample_rows():
    """acme: a hard api_calls limit, unlimited seats, a soft exports limit already passed.
    globex: on trial, a soft api_calls limit.
    initech: suspended, with room left under an unlimited metric."""
    unlimited = {"limit": None, "remaining": None, "percent_used": None, "status": "unlimited"}
    globex = {"account_id": "globex", "plan_code": "team", "is_trial": True, "credits_remaining_cents": 0}
    return frame_of(
        quota_row(),
        quota_row(metric="seats", used=Decimal(7), enforcement="soft", **unlimited),
        quota_row(
            metric="exports",
            included=Decimal(100),
            limit=Decimal(1000),
            used=Decimal("1200.25"),
            remaining=Decimal(0),
            percent_used=Decimal("120.03"),
            status="over_limit",
            enforcement="soft",
        ),
        quota_row(
            **globex,
            trial_ends_on=datetime(2026, 5, 14, tzinfo=UTC).date(),
            enforcement="soft",
            used=Decimal(180000),
            remaining=Decimal(20000),
            percent_used=Decimal("90.00"),
            status="approaching_limit",
        ),
        quota_row(account_id="initech", account_status="suspended", used=Decimal(3), **unlimited),
    )


def write_sample_catalog(catalog: Path) -> None:
    """The sample plans and the three accounts, so posted events are judged as ingestion would."""
    catalog.mkdir(parents=True, exist_ok=True)
    (catalog / "plans.yaml").write_text(yaml.safe_dump(PLANS_YAML, sort_keys=False))
    (catalog / "accounts.csv").write_text(
        "account_id,name,email,status,stripe_customer_id\n"
        + "".join(f"{a},{a.title()},billing@{a}.example,active,\n" for a in ACCOUNTS))
    (catalog / "subscriptions.csv").write_text(
        "account_id,plan_code,starts_on,ends_on,trial_days\n" + "".join(f"{a},pro,2025-01-01,,0\n" for a in ACCOUNTS))


def write_sample_service(data_dir: Path, generated_at: datetime, included_files: tuple[str, ...] = ()) -> None:
    """The snapshot in <data>/serving, the catalog and the keys file in <data>/catalog, where Settings looks."""
    write_quota_snapshot(sample_rows(), data_dir / "serving", generated_at, included_files)
    write_sample_catalog(data_dir / "catalog")
    keys_file = data_dir / "catalog" / API_KEYS_FILENAME
    add_key_to_file(keys_file, key_entry("gateway", SERVICE_KEY, None))
    add_key_to_file(keys_file, key_entry("acme-worker", ACME_KEY, "acme"))
    add_key_to_file(keys_file, key_entry("globex-worker", GLOBEX_KEY, "globex"))
