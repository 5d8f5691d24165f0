"""The service the API tests run against: a small snapshot, two tenants and a service key."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import yaml

from billing_pipeline.exchange.quota_snapshot import write_quota_snapshot
from billing_pipeline.exchange.usage_snapshot import USAGE_SCHEMA, write_usage_snapshot
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


def sample_usage_rows(quota_rows: pl.DataFrame) -> pl.DataFrame:
    """A usage snapshot of the same accounts and period: each quota's `used`, all of it on the period's
    first day, in a metric aggregated as the sample catalog says; a draft invoice for all but initech."""
    aggregation = {m["code"]: m["aggregation"] for m in PLANS_YAML["metrics"]}
    accounts = quota_rows.group_by("account_id", maintain_order=True).agg(
        "period", "period_start", "period_end", "currency", "metric", "used").with_columns(
        pl.col("period", "period_start", "period_end", "currency").list.first())
    rows = []
    for account in accounts.iter_rows(named=True):
        drafted = account["account_id"] != "initech"
        rows.append({
            **{c: account[c] for c in ("account_id", "period", "period_start", "period_end")},
            "currency": account["currency"].upper(), "exponent": 2,
            "rated_as_of": account["period_start"] if drafted else None,
            "draft_subtotal_cents": 4900 if drafted else None, "draft_discount_cents": 0 if drafted else None,
            "draft_credits_applied_cents": 0 if drafted else None, "draft_total_cents": 4900 if drafted else None,
            "metrics": [{"metric": m, "aggregation": aggregation[m], "quantity": used, "usage_cents": 100}
                        for m, used in sorted(zip(account["metric"], account["used"]))],
            "days": [{"metric": m, "usage_date": account["period_start"], "quantity": used}
                     for m, used in sorted(zip(account["metric"], account["used"]))],
        })
    return pl.DataFrame(rows, schema=USAGE_SCHEMA)


def write_sample_service(data_dir: Path, generated_at: datetime, included_files: tuple[str, ...] = ()) -> None:
    """The snapshots in <data>/serving, the catalog and the keys file in <data>/catalog, where Settings looks."""
    write_usage_snapshot(sample_usage_rows(sample_rows()), data_dir / "serving", generated_at, included_files)
    write_quota_snapshot(sample_rows(), data_dir / "serving", generated_at, included_files)
    write_sample_catalog(data_dir / "catalog")
    keys_file = data_dir / "catalog" / API_KEYS_FILENAME
    add_key_to_file(keys_file, key_entry("gateway", SERVICE_KEY, None))
    add_key_to_file(keys_file, key_entry("acme-worker", ACME_KEY, "acme"))
    add_key_to_file(keys_file, key_entry("globex-worker", GLOBEX_KEY, "globex"))
