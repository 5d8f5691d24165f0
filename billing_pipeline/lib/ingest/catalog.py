"""Reading and validating the catalog folder into warehouse tables, all or nothing.

Every problem names its file, line and rule, and all problems are reported at once: finance fixes a
catalog in one pass rather than one error per run. Nothing is written unless the whole catalog is
valid, so a bad catalog can never produce half an invoice. A problem that only follows from another
(a subscription naming a plan of a plans.yaml that does not parse) is left out.

Numbers are kept exactly as written, at a fixed precision (README "Catalog"): a value with more
decimal places than its column keeps, or too large for it, is refused, never rounded.
"""

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml

from billing_pipeline.lib.config_errors import ConfigError, Problem, read_text, syntax_problem

CURRENCY_EXPONENTS = {"usd": 2, "eur": 2, "gbp": 2, "cad": 2, "aud": 2, "chf": 2, "jpy": 0, "krw": 0}
AGGREGATIONS = {"sum", "count", "max", "unique_count"}
UNIQUE_COUNT_FIELDS = {"user_id", "endpoint", "request_id"}
MODELS = {"per_unit", "graduated", "volume", "package", "flat"}
ENFORCEMENTS = {"hard", "soft"}
ACCOUNT_STATUSES = {"active", "suspended", "cancelled"}


@dataclass(frozen=True)
class Precision:
    """How a kind of catalog number is stored, and the values it holds exactly."""

    kind: str  # plural, for messages
    places: int
    below: Decimal  # every accepted value is smaller
    dtype: pl.Decimal
    negative_rule: str


# Quantities as events carry them: DECIMAL(38, 9).
QUANTITY = Precision("quantities", 9, Decimal(10) ** 29, pl.Decimal(38, 9), "negative_quantity")
# Prices, fees and amounts: 12 places, enough for per-token prices ($0.0125 per million tokens is
# 0.0000000125). Below 10^17 because rating multiplies them by 9-place quantities into
# DECIMAL(38, 21), which holds 17 digits before the point (macros/money.sql).
MONEY = Precision("prices and amounts", 12, Decimal(10) ** 17, pl.Decimal(38, 12), "negative_price")
PERCENT = Precision("percentages", 12, Decimal(1000), pl.Decimal(15, 12), "negative_price")


class CatalogError(ConfigError):
    refused = "catalog refused"


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line number so errors can point at it, reads every number exactly (a
    YAML float would keep 17 significant digits at most) and notes keys given twice, which YAML
    would otherwise resolve silently to the last."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, str]] = []

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key, _ in node.value:
            if key.value in seen:
                self.duplicate_keys.append((key.start_mark.line + 1, key.value))
            seen.add(key.value)
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        mapping["__lines__"] = {key.value: key.start_mark.line + 1 for key, _ in node.value}
        return mapping

    def construct_exact_float(self, node):
        text = self.construct_scalar(node).replace("_", "")
        try:
            return Decimal(text)
        except InvalidOperation:
            return text  # .inf, .nan, sexagesimal: refused as not a decimal number where a number is due


_LineLoader.add_constructor("tag:yaml.org,2002:float", _LineLoader.construct_exact_float)


def _line(spec: dict, key: str) -> int:
    """The line of `key` in a YAML mapping, or of the mapping itself when the key is absent."""
    return spec["__lines__"].get(key, spec["__line__"])


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOperation
    result = Decimal(str(value).strip())
    if not result.is_finite():
        raise InvalidOperation
    return result


def _places(value: Decimal) -> int:
    """Decimal places needed to write `value` exactly (trailing zeros lose nothing). Not via
    normalize(), which rounds to the context's 28 digits."""
    if value.is_zero():
        return 0
    _, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits))
    return max(0, -(exponent + len(text) - len(text.rstrip("0"))))


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
        self.problems: list[Problem] = []
        self.incomplete: set[str] = set()  # files not read in full: nothing is checked against them

    def problem(self, file: str, line: int, rule: str, message: str) -> None:
        self.problems.append(Problem(file, line, rule, message))

    def _text(self, name: str, required: bool) -> str | None:
        path = self.folder / name
        if not path.exists():
            if required:
                self.problem(name, 0, "missing_file", f"{path} does not exist")
                self.incomplete.add(name)
            return None
        text = read_text(path)
        if isinstance(text, Problem):
            self.problems.append(text)
            self.incomplete.add(name)
            return None
        return text

    def yaml_file(self, name: str, required: bool) -> dict:
        text = self._text(name, required)
        if text is None:
            return {}
        loader = _LineLoader(text)
        try:
            loaded = loader.get_single_data()
        except yaml.YAMLError as error:
            self.problems.append(syntax_problem(name, text, error))
            self.incomplete.add(name)
            return {}
        finally:
            loader.dispose()
        for line, key in loader.duplicate_keys:
            self.problem(name, line, "duplicate_key", f"{key!r} is given twice in one mapping")
        if loaded is None:
            return {}
        if not isinstance(loaded, dict):
            self.problem(name, 1, "yaml_shape", "top level must be a mapping")
            self.incomplete.add(name)
            return {}
        return loaded

    def mappings(self, file: str, line: int, what: str, value: Any) -> list[dict]:
        """The entries of a YAML list that are mappings; anything else is a problem."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(file, line, "yaml_shape", f"{what} must be a list")
            self.incomplete.add(file)
            return []
        entries = [entry for entry in value if isinstance(entry, dict)]
        if len(entries) < len(value):
            self.problem(file, line, "yaml_shape", f"every entry of {what} must be a mapping (key: value lines)")
            self.incomplete.add(file)
        return entries

    def csv_rows(self, name: str, columns: list[str], required: bool) -> list[tuple[int, dict]]:
        """(line, row) for every non-blank row; the line is where the row starts in the file."""
        text = self._text(name, required)
        if text is None:
            return []
        reader = csv.reader(text.splitlines(keepends=True))
        header = next(reader, [])
        missing = [c for c in columns if c not in header]
        if missing:
            self.problem(name, 1, "missing_column", f"missing column(s): {', '.join(missing)}")
            self.incomplete.add(name)
            return []
        rows, start = [], reader.line_num + 1
        for values in reader:
            if values:  # a blank line carries no row
                rows.append((start, {column: value.strip() for column, value in zip(header, values)}
                             | {column: "" for column in header[len(values):]}))
            start = reader.line_num + 1
        return rows

    def number(self, file: str, line: int, what: str, value: Any, precision: Precision,
               required: bool = False) -> Decimal | None:
        try:
            number = _decimal(value)
        except (InvalidOperation, ValueError):
            self.problem(file, line, "not_a_number", f"{what} {value!r} is not a decimal number")
            return None
        if number is None:
            if required:
                self.problem(file, line, "missing_field", f"{what} is required")
            return None
        if number < 0:
            self.problem(file, line, precision.negative_rule, f"{what} {number} is negative")
            return None
        if _places(number) > precision.places:
            self.problem(file, line, "too_precise", f"{what} {value} has {_places(number)} decimal places: "
                         f"{precision.kind} are kept exactly to {precision.places}, never rounded")
            return None
        if number >= precision.below:
            self.problem(file, line, "too_large", f"{what} {value} is too large: {precision.kind} must be below {precision.below:,}")
            return None
        return number

    def money(self, file: str, line: int, what: str, value: Any, required: bool = False) -> Decimal | None:
        return self.number(file, line, what, value, MONEY, required)

    def quantity(self, file: str, line: int, what: str, value: Any, required: bool = False) -> Decimal | None:
        return self.number(file, line, what, value, QUANTITY, required)

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
        if not isinstance(tier, dict):
            reader.problem(file, line, "tier_shape", f"{owner}: tier {index} must be a mapping")
            continue
        tier_line = _line(tier, "up_to")
        up_to = reader.quantity(file, tier_line, f"{owner} tier {index} up_to", tier.get("up_to"))
        unit_price = reader.money(file, _line(tier, "unit_price"), f"{owner} tier {index} unit_price", tier.get("unit_price"), required=True)
        flat_fee = reader.money(file, _line(tier, "flat_fee"), f"{owner} tier {index} flat_fee", tier.get("flat_fee")) or Decimal(0)
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


def _pricing(reader: _Reader, file: str, owner: str, spec: dict, partial: bool) -> tuple[dict, list[dict]]:
    """The price fields of a charge; with partial=True (an override) every field is optional."""
    model = spec.get("model")
    if model is not None and model not in MODELS:
        reader.problem(file, _line(spec, "model"), "unknown_model", f"{owner}: model {model!r} is not one of {sorted(MODELS)}")
    if model is None and not partial:
        reader.problem(file, spec["__line__"], "missing_field", f"{owner}: model is required")

    def price(field: str, precision: Precision, required_by: str) -> Decimal | None:
        return reader.number(file, _line(spec, field), f"{owner} {field}", spec.get(field), precision,
                             required=not partial and model == required_by)

    prices = {
        "model": model,
        "unit_price": price("unit_price", MONEY, "per_unit"),
        "package_size": price("package_size", QUANTITY, "package"),
        "package_price": price("package_price", MONEY, "package"),
        "flat_fee": price("flat_fee", MONEY, "flat"),
    }
    if prices["package_size"] is not None and prices["package_size"] == 0:
        reader.problem(file, _line(spec, "package_size"), "zero_package_size", f"{owner}: package_size must be above 0")
    tiers: list[dict] = []
    if model in {"graduated", "volume"} or (partial and "tiers" in spec):
        tiers = _tiers(reader, file, owner, spec.get("tiers"), _line(spec, "tiers"))
    return prices, tiers


def _read_plans(reader: _Reader) -> dict[str, list[dict]]:
    file = "plans.yaml"
    doc = reader.yaml_file(file, required=True)
    currency = str(doc.get("currency", "usd")).lower()
    if doc and currency not in CURRENCY_EXPONENTS:
        reader.problem(file, _line(doc, "currency"), "unknown_currency", f"currency {currency!r} is not one of {sorted(CURRENCY_EXPONENTS)}")
    metrics: list[dict] = []
    for spec in reader.mappings(file, _line(doc, "metrics") if doc else 1, "metrics", doc.get("metrics")):
        line = spec["__line__"]
        code, aggregation = spec.get("code"), spec.get("aggregation", "sum")
        if not code:
            reader.problem(file, line, "missing_field", "metric code is required")
            continue
        if code in {m["metric_code"] for m in metrics}:
            reader.problem(file, line, "duplicate_metric", f"metric {code!r} is defined twice")
        if aggregation not in AGGREGATIONS:
            reader.problem(file, _line(spec, "aggregation"), "unknown_aggregation", f"metric {code}: aggregation {aggregation!r} is not one of {sorted(AGGREGATIONS)}")
        if aggregation == "unique_count" and spec.get("field") not in UNIQUE_COUNT_FIELDS:
            reader.problem(file, _line(spec, "field"), "unique_count_field", f"metric {code}: unique_count needs field one of {sorted(UNIQUE_COUNT_FIELDS)}")
        metrics.append({"metric_code": code, "name": spec.get("name", code), "unit": spec.get("unit", "unit"), "aggregation": aggregation, "field": spec.get("field")})
    known_metrics = {m["metric_code"] for m in metrics}

    plans, charges, tiers = [], [], []
    for spec in reader.mappings(file, _line(doc, "plans") if doc else 1, "plans", doc.get("plans")):
        line = spec["__line__"]
        code = spec.get("code")
        if not code:
            reader.problem(file, line, "missing_field", "plan code is required")
            continue
        if code in {p["plan_code"] for p in plans}:
            reader.problem(file, line, "duplicate_plan", f"plan {code!r} is defined twice")
        trial_days = spec.get("trial_days", 0)
        if not isinstance(trial_days, int) or trial_days < 0:
            reader.problem(file, _line(spec, "trial_days"), "bad_trial_days", f"plan {code}: trial_days must be a whole number >= 0")
            trial_days = 0
        plans.append({
            "plan_code": code, "name": spec.get("name", code), "currency": currency,
            "base_fee": reader.money(file, _line(spec, "base_fee"), f"plan {code} base_fee", spec.get("base_fee", "0")) or Decimal(0),
            "trial_days": trial_days,
            "minimum_charge": reader.money(file, _line(spec, "minimum_charge"), f"plan {code} minimum_charge", spec.get("minimum_charge", "0")) or Decimal(0),
        })
        seen: set[str] = set()
        for charge in reader.mappings(file, _line(spec, "charges"), f"plan {code} charges", spec.get("charges")):
            cline = charge["__line__"]
            metric = charge.get("metric")
            owner = f"plan {code} charge {metric}"
            if metric not in known_metrics:
                reader.problem(file, cline, "unknown_metric", f"{owner}: metric {metric!r} is not defined under metrics")
            if metric in seen:
                reader.problem(file, cline, "duplicate_charge", f"{owner}: metric charged twice in one plan")
            seen.add(metric)
            enforcement = charge.get("enforcement", "soft")
            if enforcement not in ENFORCEMENTS:
                reader.problem(file, _line(charge, "enforcement"), "unknown_enforcement", f"{owner}: enforcement {enforcement!r} is not hard or soft")
            price, charge_tiers = _pricing(reader, file, owner, charge, partial=False)
            charges.append({
                "plan_code": code, "metric_code": metric,
                "included": reader.quantity(file, _line(charge, "included"), f"{owner} included", charge.get("included", 0)) or Decimal(0),
                "usage_limit": reader.quantity(file, _line(charge, "limit"), f"{owner} limit", charge.get("limit")),
                "enforcement": enforcement, **price,
            })
            tiers += [{"plan_code": code, "metric_code": metric, **t} for t in charge_tiers]
    return {"metrics": metrics, "plans": plans, "plan_charges": charges, "plan_tiers": tiers,
            "currencies": [{"currency": c, "minor_unit_exponent": e} for c, e in CURRENCY_EXPONENTS.items()]}


def _read_accounts(reader: _Reader) -> list[dict]:
    file = "accounts.csv"
    accounts: dict[str, dict] = {}
    for line, row in reader.csv_rows(file, ["account_id", "name", "email", "status"], required=True):
        account_id = row["account_id"]
        if not account_id:
            reader.problem(file, line, "missing_field", "account_id is required")
            continue
        if account_id in accounts:
            reader.problem(file, line, "duplicate_account", f"account {account_id} appears twice")
        status = row["status"]
        if status not in ACCOUNT_STATUSES:
            reader.problem(file, line, "unknown_status", f"account {account_id}: status {status!r} is not one of {sorted(ACCOUNT_STATUSES)}")
        accounts[account_id] = {"account_id": account_id, "name": row["name"], "email": row["email"], "status": status,
                                "stripe_customer_id": row.get("stripe_customer_id") or None}
    return list(accounts.values())


def _read_subscriptions(reader: _Reader, accounts: set[str] | None, plans: dict[str, int] | None) -> list[dict]:
    """accounts / plans are None when their file could not be read: nothing is checked against them."""
    file = "subscriptions.csv"
    subs: list[dict] = []
    for line, row in reader.csv_rows(file, ["account_id", "plan_code", "starts_on", "ends_on", "trial_days"], required=True):
        account_id, plan = row["account_id"], row["plan_code"]
        if accounts is not None and account_id not in accounts:
            reader.problem(file, line, "unknown_account", f"account {account_id!r} is not in accounts.csv")
        if plans is not None and plan not in plans:
            reader.problem(file, line, "unknown_plan", f"plan {plan!r} is not in plans.yaml")
        starts_on = reader.day(file, line, "starts_on", row["starts_on"], required=True)
        ends_on = reader.day(file, line, "ends_on", row["ends_on"], required=False)
        if starts_on and ends_on and ends_on <= starts_on:
            reader.problem(file, line, "ends_before_start", f"ends_on {ends_on} must be after starts_on {starts_on}")
        trial_raw = row["trial_days"]
        trial_days = (plans or {}).get(plan, 0)
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


def _read_grants(reader: _Reader, accounts: set[str] | None) -> list[dict]:
    file = "credit_grants.csv"
    grants: dict[str, dict] = {}
    for line, row in reader.csv_rows(file, ["grant_id", "account_id", "amount", "granted_on", "expires_on", "kind"], required=False):
        grant_id, account_id = row["grant_id"], row["account_id"]
        if grant_id in grants:
            reader.problem(file, line, "duplicate_grant", f"grant {grant_id} appears twice")
        if accounts is not None and account_id not in accounts:
            reader.problem(file, line, "unknown_account", f"grant {grant_id}: account {account_id!r} is not in accounts.csv")
        amount = reader.money(file, line, f"grant {grant_id} amount", row["amount"], required=True)
        granted_on = reader.day(file, line, "granted_on", row["granted_on"], required=True)
        expires_on = reader.day(file, line, "expires_on", row["expires_on"], required=False)
        if granted_on and expires_on and expires_on <= granted_on:
            reader.problem(file, line, "expires_before_grant", f"grant {grant_id}: expires_on must be after granted_on")
        grants[grant_id] = {"grant_id": grant_id, "account_id": account_id, "amount": amount or Decimal(0),
                            "granted_on": granted_on, "expires_on": expires_on, "kind": row["kind"] or "prepaid"}
    return list(grants.values())


def _read_overrides(reader: _Reader, accounts: set[str] | None, metrics: set[str] | None) -> dict[str, list[dict]]:
    file = "overrides.yaml"
    doc = reader.yaml_file(file, required=False)
    discounts, charges, tiers = [], [], []
    listed = doc.get("accounts") or {}
    if not isinstance(listed, dict):
        reader.problem(file, _line(doc, "accounts"), "yaml_shape", "accounts must be a mapping of account_id to its overrides")
        listed = {}
    for account_id, spec in listed.items():
        if account_id in ("__line__", "__lines__"):
            continue
        if not isinstance(spec, dict):
            reader.problem(file, _line(listed, account_id), "yaml_shape", f"the overrides of {account_id} must be a mapping")
            continue
        if accounts is not None and account_id not in accounts:
            reader.problem(file, _line(listed, account_id), "unknown_account", f"override for account {account_id!r} which is not in accounts.csv")
        if spec.get("discount_percent") is not None:
            percent_line = _line(spec, "discount_percent")
            percent = reader.number(file, percent_line, f"{account_id} discount_percent", spec["discount_percent"], PERCENT)
            if percent is not None and percent > 100:
                reader.problem(file, percent_line, "discount_over_100", f"{account_id}: discount_percent {percent} is above 100")
            discounts.append({"account_id": account_id, "discount_percent": percent or Decimal(0)})
        for charge in reader.mappings(file, _line(spec, "charges"), f"{account_id} charges", spec.get("charges")):
            cline = charge["__line__"]
            metric = charge.get("metric")
            owner = f"override {account_id} charge {metric}"
            if metrics is not None and metric not in metrics:
                reader.problem(file, cline, "unknown_metric", f"{owner}: metric {metric!r} is not defined in plans.yaml")
            price, charge_tiers = _pricing(reader, file, owner, charge, partial=True)
            charges.append({"account_id": account_id, "metric_code": metric, **price, "has_tiers": bool(charge_tiers)})
            tiers += [{"account_id": account_id, "metric_code": metric, **t} for t in charge_tiers]
    return {"account_discounts": discounts, "account_charge_overrides": charges, "account_tier_overrides": tiers}


_QTY, _MONEY = QUANTITY.dtype, MONEY.dtype
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "currencies": {"currency": pl.String, "minor_unit_exponent": pl.Int32},
    "metrics": {"metric_code": pl.String, "name": pl.String, "unit": pl.String, "aggregation": pl.String, "field": pl.String},
    "plans": {"plan_code": pl.String, "name": pl.String, "currency": pl.String, "base_fee": _MONEY, "trial_days": pl.Int32,
              "minimum_charge": _MONEY},
    "plan_charges": {"plan_code": pl.String, "metric_code": pl.String, "included": _QTY, "usage_limit": _QTY, "enforcement": pl.String,
                     "model": pl.String, "unit_price": _MONEY, "package_size": _QTY, "package_price": _MONEY, "flat_fee": _MONEY},
    "plan_tiers": {"plan_code": pl.String, "metric_code": pl.String, "tier_index": pl.Int32, "from_quantity": _QTY, "up_to": _QTY,
                   "unit_price": _MONEY, "flat_fee": _MONEY},
    "accounts": {"account_id": pl.String, "name": pl.String, "email": pl.String, "status": pl.String, "stripe_customer_id": pl.String},
    "subscriptions": {"subscription_id": pl.String, "account_id": pl.String, "plan_code": pl.String, "starts_on": pl.Date,
                      "ends_on": pl.Date, "trial_days": pl.Int32},
    "credit_grants": {"grant_id": pl.String, "account_id": pl.String, "amount": _MONEY, "granted_on": pl.Date, "expires_on": pl.Date,
                      "kind": pl.String},
    "account_discounts": {"account_id": pl.String, "discount_percent": PERCENT.dtype},
    "account_charge_overrides": {"account_id": pl.String, "metric_code": pl.String, "model": pl.String, "unit_price": _MONEY,
                                 "package_size": _QTY, "package_price": _MONEY, "flat_fee": _MONEY, "has_tiers": pl.Boolean},
    "account_tier_overrides": {"account_id": pl.String, "metric_code": pl.String, "tier_index": pl.Int32, "from_quantity": _QTY,
                               "up_to": _QTY, "unit_price": _MONEY, "flat_fee": _MONEY},
}


def read_catalog(folder: Path) -> Catalog:
    """Parse and validate every catalog file; raise CatalogError listing all problems."""
    reader = _Reader(folder)
    rows = _read_plans(reader)
    rows["accounts"] = _read_accounts(reader)
    plans_read = "plans.yaml" not in reader.incomplete
    account_ids = {a["account_id"] for a in rows["accounts"]} if "accounts.csv" not in reader.incomplete else None
    plan_trials = {p["plan_code"]: p["trial_days"] for p in rows["plans"]} if plans_read else None
    rows["subscriptions"] = _read_subscriptions(reader, account_ids, plan_trials)
    rows["credit_grants"] = _read_grants(reader, account_ids)
    rows.update(_read_overrides(reader, account_ids, {m["metric_code"] for m in rows["metrics"]} if plans_read else None))
    if reader.problems:
        raise CatalogError(reader.problems)
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
