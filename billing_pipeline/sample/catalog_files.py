"""The sample catalog: plans using every pricing model, accounts, subscriptions, grants, overrides.

Seeded and written from plain data so the golden-invoice tests can reason about every account.
"""

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

PLANS_YAML = {
    "currency": "usd",
    "metrics": [
        {"code": "api_calls", "name": "API calls", "unit": "call", "aggregation": "sum"},
        {"code": "lines_reviewed", "name": "Lines reviewed", "unit": "line", "aggregation": "sum"},
        {"code": "docs_generated", "name": "Docs generated", "unit": "doc", "aggregation": "sum"},
        {"code": "ai_tokens_input", "name": "AI input tokens", "unit": "token", "aggregation": "sum"},
        {"code": "ai_tokens_output", "name": "AI output tokens", "unit": "token", "aggregation": "sum"},
        {"code": "exports", "name": "Exports", "unit": "export", "aggregation": "count"},
        {"code": "seats", "name": "Seats", "unit": "seat", "aggregation": "max"},
        {"code": "active_users", "name": "Active users", "unit": "user", "aggregation": "unique_count", "field": "user_id"},
    ],
    "plans": [
        {
            "code": "starter", "name": "Starter", "base_fee": "19.00", "trial_days": 14, "minimum_charge": "0",
            "charges": [
                {"metric": "api_calls", "included": 10000, "limit": 60000, "enforcement": "hard", "model": "per_unit", "unit_price": "0.002"},
                {"metric": "lines_reviewed", "included": 5000, "model": "graduated", "tiers": [
                    {"up_to": 20000, "unit_price": "0.001"},
                    {"up_to": None, "unit_price": "0.0005"}]},
                {"metric": "exports", "included": 5, "model": "package", "package_size": 10, "package_price": "2.50"},
                {"metric": "seats", "included": 3, "limit": 10, "enforcement": "hard", "model": "per_unit", "unit_price": "8.00"},
            ],
        },
        {
            "code": "pro", "name": "Pro", "base_fee": "49.00", "trial_days": 14, "minimum_charge": "0",
            "charges": [
                {"metric": "api_calls", "included": 50000, "limit": 200000, "enforcement": "soft", "model": "per_unit", "unit_price": "0.001"},
                {"metric": "lines_reviewed", "included": 20000, "model": "graduated", "tiers": [
                    {"up_to": 100000, "unit_price": "0.0008", "flat_fee": "0"},
                    {"up_to": 500000, "unit_price": "0.0005", "flat_fee": "5.00"},
                    {"up_to": None, "unit_price": "0.0003", "flat_fee": "10.00"}]},
                {"metric": "docs_generated", "included": 100, "model": "volume", "tiers": [
                    {"up_to": 1000, "unit_price": "0.05"},
                    {"up_to": 10000, "unit_price": "0.04", "flat_fee": "2.00"},
                    {"up_to": None, "unit_price": "0.03", "flat_fee": "5.00"}]},
                {"metric": "ai_tokens_input", "model": "graduated", "tiers": [
                    {"up_to": 1000000, "unit_price": "0.000002"},
                    {"up_to": None, "unit_price": "0.000001", "flat_fee": "0"}]},
                {"metric": "ai_tokens_output", "model": "volume", "tiers": [
                    {"up_to": 1000000, "unit_price": "0.000008"},
                    {"up_to": None, "unit_price": "0.000006", "flat_fee": "1.00"}]},
                {"metric": "exports", "included": 20, "model": "package", "package_size": 100, "package_price": "5.00"},
                {"metric": "seats", "included": 5, "model": "per_unit", "unit_price": "12.00"},
                {"metric": "active_users", "included": 50, "model": "flat", "flat_fee": "25.00"},
            ],
        },
        {
            "code": "enterprise", "name": "Enterprise", "base_fee": "499.00", "trial_days": 0, "minimum_charge": "1500.00",
            "charges": [
                {"metric": "api_calls", "included": 1000000, "model": "per_unit", "unit_price": "0.0005"},
                {"metric": "lines_reviewed", "included": 200000, "model": "volume", "tiers": [
                    {"up_to": 1000000, "unit_price": "0.0004"},
                    {"up_to": None, "unit_price": "0.0002", "flat_fee": "50.00"}]},
                {"metric": "docs_generated", "included": 1000, "model": "per_unit", "unit_price": "0.02"},
                {"metric": "ai_tokens_input", "included": 5000000, "model": "graduated", "tiers": [
                    {"up_to": 10000000, "unit_price": "0.0000015", "flat_fee": "20.00"},
                    {"up_to": None, "unit_price": "0.000001", "flat_fee": "40.00"}]},
                {"metric": "ai_tokens_output", "included": 1000000, "model": "graduated", "tiers": [
                    {"up_to": 5000000, "unit_price": "0.000006"},
                    {"up_to": None, "unit_price": "0.000004"}]},
                {"metric": "exports", "model": "flat", "flat_fee": "100.00"},
                {"metric": "seats", "included": 25, "model": "per_unit", "unit_price": "10.00"},
                {"metric": "active_users", "included": 500, "model": "per_unit", "unit_price": "1.00"},
            ],
        },
        {
            "code": "payg", "name": "Pay as you go", "base_fee": "0", "trial_days": 0, "minimum_charge": "5.00",
            "charges": [
                {"metric": "api_calls", "included": 1000, "limit": 100000, "enforcement": "soft", "model": "per_unit", "unit_price": "0.0015"},
                {"metric": "docs_generated", "model": "package", "package_size": 50, "package_price": "3.00"},
                {"metric": "ai_tokens_input", "model": "per_unit", "unit_price": "0.000003"},
                {"metric": "ai_tokens_output", "model": "per_unit", "unit_price": "0.00001"},
            ],
        },
    ],
}

PLAN_WEIGHTS = {"starter": 0.45, "pro": 0.35, "enterprise": 0.08, "payg": 0.12}
COMPANY_WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Cyberdyne",
                 "Tyrell", "Wonka", "Gringotts", "Monarch", "Aperture", "Nakatomi", "Oscorp", "Pied Piper", "Duff", "Zorg"]
COMPANY_SUFFIXES = ["Labs", "Systems", "Analytics", "Cloud", "Health", "Logistics", "Media", "Robotics", "Foods", "Bank"]


@dataclass(frozen=True)
class SampleAccount:
    account_id: str
    plan_code: str
    status: str


def plan_metrics(plan_code: str) -> list[str]:
    plan = next(p for p in PLANS_YAML["plans"] if p["code"] == plan_code)
    return [c["metric"] for c in plan["charges"]]


def write_catalog_files(folder: Path, accounts: int, start: date, days: int, seed: int) -> list[SampleAccount]:
    """Write plans.yaml, accounts.csv, subscriptions.csv, credit_grants.csv and overrides.yaml."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plans.yaml").write_text(yaml.safe_dump(PLANS_YAML, sort_keys=False), encoding="utf-8")

    end = start + timedelta(days=days)
    mid = start + timedelta(days=max(1, days // 2))
    sample: list[SampleAccount] = []
    account_rows, subscription_rows, grant_rows = [], [], []
    codes = list(PLAN_WEIGHTS)
    for n in range(1, accounts + 1):
        account_id = f"acct_{n:04d}"
        plan = rng.choices(codes, weights=[PLAN_WEIGHTS[c] for c in codes])[0]
        # A few fixed roles make the golden invoices cover every case.
        status = "suspended" if n % 97 == 0 else "active"
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)} {n}"
        account_rows.append([account_id, name, f"billing+{account_id}@example.com", status, ""])
        if n == 3:  # plan change mid-period: starter then pro
            subscription_rows.append([account_id, "starter", start.isoformat(), mid.isoformat(), "0"])
            subscription_rows.append([account_id, "pro", mid.isoformat(), "", "0"])
            plan = "pro"
        elif n == 4:  # cancellation mid-period
            cancel_on = start + timedelta(days=max(1, days * 2 // 3))
            subscription_rows.append([account_id, "pro", start.isoformat(), cancel_on.isoformat(), "0"])
            account_rows[-1][3] = "cancelled"
            status = "cancelled"
        elif n % 10 == 5:  # new signups with the plan's trial, starting after the period opens
            subscription_rows.append([account_id, plan, (start + timedelta(days=5 + n % 20)).isoformat(), "", ""])
        else:
            subscription_rows.append([account_id, plan, start.isoformat(), "", "0"])
        if n % 7 == 1:
            grant_rows.append([f"grant_{n:04d}_a", account_id, f"{rng.choice([50, 100, 250, 500])}.00", start.isoformat(),
                               (end + timedelta(days=365)).isoformat(), "prepaid"])
        if n % 11 == 2:
            grant_rows.append([f"grant_{n:04d}_p", account_id, "20.00", start.isoformat(),
                               (start + timedelta(days=45)).isoformat(), "promotional"])
        sample.append(SampleAccount(account_id, plan, status))

    _write_csv(folder / "accounts.csv", ["account_id", "name", "email", "status", "stripe_customer_id"], account_rows)
    _write_csv(folder / "subscriptions.csv", ["account_id", "plan_code", "starts_on", "ends_on", "trial_days"], subscription_rows)
    _write_csv(folder / "credit_grants.csv", ["grant_id", "account_id", "amount", "granted_on", "expires_on", "kind"], grant_rows)
    overrides = {"accounts": {
        "acct_0001": {"discount_percent": "10"},
        "acct_0002": {"charges": [{"metric": "api_calls", "unit_price": "0.0008"}]},
        # a per-token price ($1.8125 per million tokens) and a discount to the fifth decimal place
        "acct_0006": {"discount_percent": "4.87654", "charges": [
            {"metric": "lines_reviewed", "tiers": [{"up_to": 50000, "unit_price": "0.0006"}, {"up_to": None, "unit_price": "0.0002"}]},
            {"metric": "ai_tokens_input", "model": "per_unit", "unit_price": "0.0000018125"}]},
    }}
    (folder / "overrides.yaml").write_text(yaml.safe_dump({"accounts": {k: v for k, v in overrides["accounts"].items()
                                                                          if int(k[-4:]) <= accounts}}, sort_keys=False), encoding="utf-8")
    return sample


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
