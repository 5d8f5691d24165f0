"""Reading and validating the catalog folder into warehouse tables, all or nothing.

Every problem names its file, line and rule, and all problems are reported at once: finance fixes a
catalog in one pass rather than one error per run. Nothing is written unless the whole catalog is
valid, so a bad catalog can never produce half an invoice.
"""

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml

CURRENCY_EXPONENTS = {"usd": 2, "eur": 2, "gbp": 2, "cad": 2, "aud": 2, "chf": 2, "jpy": 0, "krw": 0}
AGGREGATIONS = {"sum", "count", "max", "unique_count"}
UNIQUE_COUNT_FIELDS = {"user_id", "endpoint", "request_id"}
MODELS = {"per_unit", "graduated", "volume", "package", "flat"}
ENFORCEMENTS = {"hard", "soft"}
ACCOUNT_STATUSES = {"active", "suspended", "cancelled"}

QTY = pl.Decimal(18, 6)
PRICE = pl.Decimal(18, 9)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"


class CatalogError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"catalog refused, {len(problems)} problem(s):\n{listing}")


@dataclass
class _Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, file: str, line: int, rule: str, message: str) -> None:
        self.items.append(Problem(file, line, rule, message))


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line number so errors can point at it."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOperation
    result = Decimal(str(value).strip())
    if not result.is_finite():
        raise InvalidOperation
    return result


def _date(value: str) -> date | None:
    value = (value or "").strip()
    return date.fromisoformat(value) if value else None


@dataclass
class Catalog:
    """The validated catalog as one frame per warehouse table (schema `catalog`)."""

    tables: dict[str, pl.DataFrame]

    @property
    def account_ids(self) -> set[str]:
        return set(self.tables["accounts"]["account_id"].to_list())

    @property
    def metric_codes(self) -> set[str]:
        return set(self.tables["metrics"]["metric_code"].to_list())


class _Reader:
    def __init__(self, folder: Path):
        self.folder = folder
        self.problems = _Problems()

    def problem(self, file: str, line: int, rule: str, message: str) -> None:
        self.problems.add(file, line, rule, message)

    def yaml_file(self, name: str, required: bool) -> dict:
        path = self.folder / name
        if not path.exists():
            if required:
                self.problem(name, 0, "missing_file", f"{path} does not exist")
            return {}
        try:
            loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.problem(name, mark.line + 1 if mark else 0, "yaml_syntax", str(exc).splitlines()[0])
            return {}
        if loaded is None:
            return {}
        if not isinstance(loaded, dict):
            self.problem(name, 1, "yaml_shape", "top level must be a mapping")
            return {}
        return loaded

    def csv_rows(self, name: str, columns: list[str], required: bool) -> list[tuple[int, dict]]:
        path = self.folder / name
        if not path.exists():
            if required:
                self.problem(name, 0, "missing_file", f"{path} does not exist")
            return []
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                self.problem(name, 1, "missing_column", f"missing column(s): {', '.join(missing)}")
                return []
            return [(number, row) for number, row in enumerate(reader, start=2)]

    def money(self, file: str, line: int, what: str, value: Any, required: bool = False) -> Decimal | None:
        try:
            amount = _decimal(value)
        except (InvalidOperation, ValueError):
            self.problem(file, line, "not_a_number", f"{what} {value!r} is not a decimal number")
            return None
        if amount is None:
            if required:
                self.problem(file, line, "missing_field", f"{what} is required")
            return None
        if amount < 0:
            self.problem(file, line, "negative_price", f"{what} {amount} is negative")
            return None
        return amount

    def day(self, file: str, line: int, what: str, value: str, required: bool) -> date | None:
        try:
            parsed = _date(value)
        except ValueError:
            self.problem(file, line, "bad_date", f"{what} {value!r} is not a YYYY-MM-DD date")
            return None
        if parsed is None and required:
            self.problem(file, line, "missing_field", f"{what} is required")
        return parsed


def _tiers(reader: _Reader, file: str, owner: str, raw_tiers: Any, line: int) -> list[dict]:
    if not isinstance(raw_tiers, list) or not raw_tiers:
        reader.problem(file, line, "missing_tiers", f"{owner}: graduated/volume pricing needs a non-empty tiers list")
        return []
    rows, previous = [], Decimal(0)
    for index, tier in enumerate(raw_tiers, start=1):
        tier_line = tier.get("__line__", line) if isinstance(tier, dict) else line
        if not isinstance(tier, dict):
            reader.problem(file, line, "tier_shape", f"{owner}: tier {index} must be a mapping")
            continue
        up_to = reader.money(file, tier_line, f"{owner} tier {index} up_to", tier.get("up_to"))
        unit_price = reader.money(file, tier_line, f"{owner} tier {index} unit_price", tier.get("unit_price"), required=True)
        flat_fee = reader.money(file, tier_line, f"{owner} tier {index} flat_fee", tier.get("flat_fee")) or Decimal(0)
        is_last = index == len(raw_tiers)
        if tier.get("up_to") is None and not is_last:
            rule = "multiple_open_tiers" if any(t.get("up_to") is None for t in raw_tiers[index:] if isinstance(t, dict)) else "open_tier_not_last"
            reader.problem(file, tier_line, rule, f"{owner}: only the last tier may be open-ended (up_to: null)")
        if up_to is not None and up_to <= previous:
            reader.problem(file, tier_line, "tiers_not_ascending", f"{owner}: tier {index} up_to {up_to} must be above {previous}")
        if is_last and tier.get("up_to") is not None:
            reader.problem(file, tier_line, "tier_gap", f"{owner}: quantities above {up_to} have no price; make the last tier open-ended (up_to: null)")
        rows.append({"tier_index": index, "from_quantity": previous, "up_to": up_to, "unit_price": unit_price or Decimal(0), "flat_fee": flat_fee})
        if up_to is not None and up_to > previous:
            previous = up_to
    return rows


def _pricing(reader: _Reader, file: str, owner: str, spec: dict, line: int, partial: bool) -> tuple[dict, list[dict]]:
    """The price fields of a charge; with partial=True (an override) every field is optional."""
    model = spec.get("model")
    if model is not None and model not in MODELS:
        reader.problem(file, line, "unknown_model", f"{owner}: model {model!r} is not one of {sorted(MODELS)}")
    if model is None and not partial:
        reader.problem(file, line, "missing_field", f"{owner}: model is required")
    price = {
        "model": model,
        "unit_price": reader.money(file, line, f"{owner} unit_price", spec.get("unit_price"), required=not partial and model == "per_unit"),
        "package_size": reader.money(file, line, f"{owner} package_size", spec.get("package_size"), required=not partial and model == "package"),
        "package_price": reader.money(file, line, f"{owner} package_price", spec.get("package_price"), required=not partial and model == "package"),
        "flat_fee": reader.money(file, line, f"{owner} flat_fee", spec.get("flat_fee"), required=not partial and model == "flat"),
    }
    if price["package_size"] is not None and price["package_size"] == 0:
        reader.problem(file, line, "zero_package_size", f"{owner}: package_size must be above 0")
    tiers: list[dict] = []
    if model in {"graduated", "volume"} or (partial and "tiers" in spec):
        tiers = _tiers(reader, file, owner, spec.get("tiers"), line)
    return price, tiers


def _read_plans(reader: _Reader) -> dict[str, list[dict]]:
    file = "plans.yaml"
    doc = reader.yaml_file(file, required=True)
    currency = str(doc.get("currency", "usd")).lower()
    if doc and currency not in CURRENCY_EXPONENTS:
        reader.problem(file, 1, "unknown_currency", f"currency {currency!r} is not one of {sorted(CURRENCY_EXPONENTS)}")
    metrics: list[dict] = []
    for spec in doc.get("metrics") or []:
        line = spec.get("__line__", 0)
        code, aggregation = spec.get("code"), spec.get("aggregation", "sum")
        if not code:
            reader.problem(file, line, "missing_field", "metric code is required")
            continue
        if code in {m["metric_code"] for m in metrics}:
            reader.problem(file, line, "duplicate_metric", f"metric {code!r} is defined twice")
        if aggregation not in AGGREGATIONS:
            reader.problem(file, line, "unknown_aggregation", f"metric {code}: aggregation {aggregation!r} is not one of {sorted(AGGREGATIONS)}")
        if aggregation == "unique_count" and spec.get("field") not in UNIQUE_COUNT_FIELDS:
            reader.problem(file, line, "unique_count_field", f"metric {code}: unique_count needs field one of {sorted(UNIQUE_COUNT_FIELDS)}")
        metrics.append({"metric_code": code, "name": spec.get("name", code), "unit": spec.get("unit", "unit"), "aggregation": aggregation, "field": spec.get("field")})
    known_metrics = {m["metric_code"] for m in metrics}

    plans, charges, tiers = [], [], []
    for spec in doc.get("plans") or []:
        line = spec.get("__line__", 0)
        code = spec.get("code")
        if not code:
            reader.problem(file, line, "missing_field", "plan code is required")
            continue
        if code in {p["plan_code"] for p in plans}:
            reader.problem(file, line, "duplicate_plan", f"plan {code!r} is defined twice")
        trial_days = spec.get("trial_days", 0)
        if not isinstance(trial_days, int) or trial_days < 0:
            reader.problem(file, line, "bad_trial_days", f"plan {code}: trial_days must be a whole number >= 0")
            trial_days = 0
        plans.append({
            "plan_code": code, "name": spec.get("name", code), "currency": currency,
            "base_fee": reader.money(file, line, f"plan {code} base_fee", spec.get("base_fee", "0")) or Decimal(0),
            "trial_days": trial_days,
            "minimum_charge": reader.money(file, line, f"plan {code} minimum_charge", spec.get("minimum_charge", "0")) or Decimal(0),
        })
        seen: set[str] = set()
        for charge in spec.get("charges") or []:
            cline = charge.get("__line__", line)
            metric = charge.get("metric")
            owner = f"plan {code} charge {metric}"
            if metric not in known_metrics:
                reader.problem(file, cline, "unknown_metric", f"{owner}: metric {metric!r} is not defined under metrics")
            if metric in seen:
                reader.problem(file, cline, "duplicate_charge", f"{owner}: metric charged twice in one plan")
            seen.add(metric)
            enforcement = charge.get("enforcement", "soft")
            if enforcement not in ENFORCEMENTS:
                reader.problem(file, cline, "unknown_enforcement", f"{owner}: enforcement {enforcement!r} is not hard or soft")
            price, charge_tiers = _pricing(reader, file, owner, charge, cline, partial=False)
            charges.append({
                "plan_code": code, "metric_code": metric,
                "included": reader.money(file, cline, f"{owner} included", charge.get("included", 0)) or Decimal(0),
                "usage_limit": reader.money(file, cline, f"{owner} limit", charge.get("limit")),
                "enforcement": enforcement, **price,
            })
            tiers += [{"plan_code": code, "metric_code": metric, **t} for t in charge_tiers]
    return {"metrics": metrics, "plans": plans, "plan_charges": charges, "plan_tiers": tiers,
            "currencies": [{"currency": c, "minor_unit_exponent": e} for c, e in CURRENCY_EXPONENTS.items()]}


def _read_accounts(reader: _Reader) -> list[dict]:
    file = "accounts.csv"
    accounts: dict[str, dict] = {}
    for line, row in reader.csv_rows(file, ["account_id", "name", "email", "status"], required=True):
        account_id = (row["account_id"] or "").strip()
        if not account_id:
            reader.problem(file, line, "missing_field", "account_id is required")
            continue
        if account_id in accounts:
            reader.problem(file, line, "duplicate_account", f"account {account_id} appears twice")
        status = (row["status"] or "").strip()
        if status not in ACCOUNT_STATUSES:
            reader.problem(file, line, "unknown_status", f"account {account_id}: status {status!r} is not one of {sorted(ACCOUNT_STATUSES)}")
        accounts[account_id] = {"account_id": account_id, "name": row["name"], "email": row["email"], "status": status,
                                "stripe_customer_id": (row.get("stripe_customer_id") or "").strip() or None}
    return list(accounts.values())


def _read_subscriptions(reader: _Reader, accounts: set[str], plans: dict[str, int]) -> list[dict]:
    file = "subscriptions.csv"
    subs: list[dict] = []
    for line, row in reader.csv_rows(file, ["account_id", "plan_code", "starts_on", "ends_on", "trial_days"], required=True):
        account_id, plan = row["account_id"].strip(), row["plan_code"].strip()
        if account_id not in accounts:
            reader.problem(file, line, "unknown_account", f"account {account_id!r} is not in accounts.csv")
        if plan not in plans:
            reader.problem(file, line, "unknown_plan", f"plan {plan!r} is not in plans.yaml")
        starts_on = reader.day(file, line, "starts_on", row["starts_on"], required=True)
        ends_on = reader.day(file, line, "ends_on", row["ends_on"], required=False)
        if starts_on and ends_on and ends_on <= starts_on:
            reader.problem(file, line, "ends_before_start", f"ends_on {ends_on} must be after starts_on {starts_on}")
        trial_raw = (row["trial_days"] or "").strip()
        trial_days = plans.get(plan, 0)
        if trial_raw:
            if not trial_raw.isdigit():
                reader.problem(file, line, "bad_trial_days", f"trial_days {trial_raw!r} must be a whole number >= 0")
            else:
                trial_days = int(trial_raw)
        if starts_on is None:
            continue
        for other in subs:
            if other["account_id"] == account_id and starts_on < (other["ends_on"] or date.max) and other["starts_on"] < (ends_on or date.max):
                reader.problem(file, line, "overlapping_subscriptions", f"account {account_id}: overlaps the subscription on line {other['_line']}")
        subs.append({"subscription_id": f"{account_id}:{starts_on}", "account_id": account_id, "plan_code": plan,
                     "starts_on": starts_on, "ends_on": ends_on, "trial_days": trial_days, "_line": line})
    return [{k: v for k, v in s.items() if k != "_line"} for s in subs]


def _read_grants(reader: _Reader, accounts: set[str]) -> list[dict]:
    file = "credit_grants.csv"
    grants: dict[str, dict] = {}
    for line, row in reader.csv_rows(file, ["grant_id", "account_id", "amount", "granted_on", "expires_on", "kind"], required=False):
        grant_id, account_id = row["grant_id"].strip(), row["account_id"].strip()
        if grant_id in grants:
            reader.problem(file, line, "duplicate_grant", f"grant {grant_id} appears twice")
        if account_id not in accounts:
            reader.problem(file, line, "unknown_account", f"grant {grant_id}: account {account_id!r} is not in accounts.csv")
        amount = reader.money(file, line, f"grant {grant_id} amount", row["amount"], required=True)
        granted_on = reader.day(file, line, "granted_on", row["granted_on"], required=True)
        expires_on = reader.day(file, line, "expires_on", row["expires_on"], required=False)
        if granted_on and expires_on and expires_on <= granted_on:
            reader.problem(file, line, "expires_before_grant", f"grant {grant_id}: expires_on must be after granted_on")
        grants[grant_id] = {"grant_id": grant_id, "account_id": account_id, "amount": amount or Decimal(0),
                            "granted_on": granted_on, "expires_on": expires_on, "kind": (row["kind"] or "prepaid").strip()}
    return list(grants.values())


def _read_overrides(reader: _Reader, accounts: set[str], metrics: set[str]) -> dict[str, list[dict]]:
    file = "overrides.yaml"
    doc = reader.yaml_file(file, required=False)
    discounts, charges, tiers = [], [], []
    for account_id, spec in (doc.get("accounts") or {}).items():
        if account_id == "__line__":
            continue
        line = spec.get("__line__", 0) if isinstance(spec, dict) else 0
        if account_id not in accounts:
            reader.problem(file, line, "unknown_account", f"override for account {account_id!r} which is not in accounts.csv")
        if not isinstance(spec, dict):
            continue
        if spec.get("discount_percent") is not None:
            percent = reader.money(file, line, f"{account_id} discount_percent", spec["discount_percent"])
            if percent is not None and percent > 100:
                reader.problem(file, line, "discount_over_100", f"{account_id}: discount_percent {percent} is above 100")
            discounts.append({"account_id": account_id, "discount_percent": percent or Decimal(0)})
        for charge in spec.get("charges") or []:
            cline = charge.get("__line__", line)
            metric = charge.get("metric")
            owner = f"override {account_id} charge {metric}"
            if metric not in metrics:
                reader.problem(file, cline, "unknown_metric", f"{owner}: metric {metric!r} is not defined in plans.yaml")
            price, charge_tiers = _pricing(reader, file, owner, charge, cline, partial=True)
            charges.append({"account_id": account_id, "metric_code": metric, **price, "has_tiers": bool(charge_tiers)})
            tiers += [{"account_id": account_id, "metric_code": metric, **t} for t in charge_tiers]
    return {"account_discounts": discounts, "account_charge_overrides": charges, "account_tier_overrides": tiers}


SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "currencies": {"currency": pl.String, "minor_unit_exponent": pl.Int32},
    "metrics": {"metric_code": pl.String, "name": pl.String, "unit": pl.String, "aggregation": pl.String, "field": pl.String},
    "plans": {"plan_code": pl.String, "name": pl.String, "currency": pl.String, "base_fee": QTY, "trial_days": pl.Int32, "minimum_charge": QTY},
    "plan_charges": {"plan_code": pl.String, "metric_code": pl.String, "included": QTY, "usage_limit": QTY, "enforcement": pl.String,
                     "model": pl.String, "unit_price": PRICE, "package_size": QTY, "package_price": QTY, "flat_fee": QTY},
    "plan_tiers": {"plan_code": pl.String, "metric_code": pl.String, "tier_index": pl.Int32, "from_quantity": QTY, "up_to": QTY,
                   "unit_price": PRICE, "flat_fee": QTY},
    "accounts": {"account_id": pl.String, "name": pl.String, "email": pl.String, "status": pl.String, "stripe_customer_id": pl.String},
    "subscriptions": {"subscription_id": pl.String, "account_id": pl.String, "plan_code": pl.String, "starts_on": pl.Date,
                      "ends_on": pl.Date, "trial_days": pl.Int32},
    "credit_grants": {"grant_id": pl.String, "account_id": pl.String, "amount": QTY, "granted_on": pl.Date, "expires_on": pl.Date, "kind": pl.String},
    "account_discounts": {"account_id": pl.String, "discount_percent": pl.Decimal(9, 4)},
    "account_charge_overrides": {"account_id": pl.String, "metric_code": pl.String, "model": pl.String, "unit_price": PRICE,
                                 "package_size": QTY, "package_price": QTY, "flat_fee": QTY, "has_tiers": pl.Boolean},
    "account_tier_overrides": {"account_id": pl.String, "metric_code": pl.String, "tier_index": pl.Int32, "from_quantity": QTY,
                               "up_to": QTY, "unit_price": PRICE, "flat_fee": QTY},
}


def read_catalog(folder: Path) -> Catalog:
    """Parse and validate every catalog file; raise CatalogError listing all problems."""
    reader = _Reader(folder)
    rows = _read_plans(reader)
    rows["accounts"] = _read_accounts(reader)
    account_ids = {a["account_id"] for a in rows["accounts"]}
    plan_trials = {p["plan_code"]: p["trial_days"] for p in rows["plans"]}
    rows["subscriptions"] = _read_subscriptions(reader, account_ids, plan_trials)
    rows["credit_grants"] = _read_grants(reader, account_ids)
    rows.update(_read_overrides(reader, account_ids, {m["metric_code"] for m in rows["metrics"]}))
    if reader.problems.items:
        raise CatalogError(reader.problems.items)
    return Catalog({name: pl.DataFrame(rows[name], schema=schema) for name, schema in SCHEMAS.items()})


def write_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Replace every catalog table in one transaction: readers never see a mix of old and new."""
    con.execute("CREATE SCHEMA IF NOT EXISTS catalog")
    con.execute("BEGIN TRANSACTION")
    try:
        for name, frame in catalog.tables.items():
            con.register("_catalog_frame", frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE catalog.{name} AS SELECT * FROM _catalog_frame")
            con.unregister("_catalog_frame")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
