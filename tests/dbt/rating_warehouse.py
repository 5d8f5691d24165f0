"""A small, hand-checkable billing world for rating tests: catalog files loaded by the real catalog
loader, events inserted into the real raw tables, and `dbt build` with the same arguments the
Dagster asset passes (the window in dbt's environment).

dbt runs in-process with the manifest parsed once per test process: the same SQL and tests as a
`dbt build` subprocess, without paying dbt's import and parse on every call (the Dagster path,
subprocess and all, has its own tests in tests/rating). DuckDB then shares one database
instance between dbt and the test, so the test opens the warehouse read-write like dbt does.
"""

import csv
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.defs.rating.assets import dbt_build_args
from billing_pipeline.lib.rating.environment import scoped_environment
from billing_pipeline.lib.rating.project import dbt_project
from billing_pipeline.lib.periods import next_month
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.usage_events import ensure_schema
from billing_pipeline.lib.warehouse import connect

# basic: 1.00 a day in a 31-day month; growth: 2.00 a day, 10 trial days, 100.00 minimum.
PLANS = {
    "currency": "usd",
    "metrics": [
        {"code": "api_calls", "name": "API calls", "unit": "call", "aggregation": "sum"},
        {"code": "seats", "name": "Seats", "unit": "seat", "aggregation": "max"},
        {"code": "active_users", "name": "Active users", "unit": "user", "aggregation": "unique_count", "field": "user_id"},
        {"code": "exports", "name": "Exports", "unit": "export", "aggregation": "count"},
    ],
    "plans": [
        {"code": "basic", "name": "Basic", "base_fee": "31.00", "trial_days": 0, "charges": [
            {"metric": "api_calls", "included": 1000, "limit": 5000, "enforcement": "hard", "model": "per_unit", "unit_price": "0.01"},
            {"metric": "exports", "model": "package", "package_size": 10, "package_price": "2.00"},
        ]},
        {"code": "growth", "name": "Growth", "base_fee": "62.00", "trial_days": 10, "minimum_charge": "100.00", "charges": [
            {"metric": "api_calls", "model": "graduated", "tiers": [
                {"up_to": 10000, "unit_price": "0.001"}, {"up_to": None, "unit_price": "0.0005", "flat_fee": "5.00"}]},
            {"metric": "seats", "included": 2, "model": "per_unit", "unit_price": "10.00"},
            {"metric": "active_users", "model": "volume", "tiers": [
                {"up_to": 10, "unit_price": "1.00"}, {"up_to": None, "unit_price": "0.50", "flat_fee": "3.00"}]},
        ]},
    ],
}


@dataclass(frozen=True)
class Event:
    account_id: str
    metric: str
    quantity: str
    occurred_at: str  # UTC, ISO
    landing_date: str
    user_id: str | None = None
    event_id: str = ""


@dataclass
class RatingWorld:
    """A data folder whose warehouse holds a catalog and landed events."""

    paths: DataDir
    _events: int = field(default=0)

    @classmethod
    def create(cls, root: Path, accounts: list[tuple[str, str]], subscriptions: list[tuple[str, str, str, str, str]],
               grants: list[tuple[str, str, str, str, str, str]] = (), overrides: dict | None = None,
               plans: dict = PLANS) -> "RatingWorld":
        """accounts: (account_id, status); subscriptions: (account_id, plan, starts_on, ends_on, trial_days);
        grants: (grant_id, account_id, amount, granted_on, expires_on, kind); plans: plans.yaml's content."""
        paths = DataDir(root)
        folder = paths.catalog
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plans.yaml").write_text(yaml.safe_dump(plans, sort_keys=False))
        _csv(folder / "accounts.csv", ["account_id", "name", "email", "status", "stripe_customer_id"],
             [(a, a.title(), f"{a}@example.com", status, "") for a, status in accounts])
        _csv(folder / "subscriptions.csv", ["account_id", "plan_code", "starts_on", "ends_on", "trial_days"], subscriptions)
        _csv(folder / "credit_grants.csv", ["grant_id", "account_id", "amount", "granted_on", "expires_on", "kind"], grants)
        (folder / "overrides.yaml").write_text(yaml.safe_dump({"accounts": overrides or {}}))
        with connect(paths.warehouse) as con:
            write_catalog(con, read_catalog(folder))
            ensure_schema(con)
        return cls(paths)

    def land(self, *events: Event) -> None:
        """Insert valid, first-landed events the way ingestion leaves them in raw.usage_events, as one
        load logged with the (usage day, account) pairs it changed, for the incremental models."""
        rows = []
        for event in events:
            self._events += 1
            event_id = event.event_id or f"evt-{self._events:06d}"
            rows.append((event_id, event.account_id, event.metric, event.quantity, event.occurred_at, event.user_id,
                         None, None, None, self._events, event.landing_date, f"{event.landing_date}/test.ndjson",
                         self._events, datetime(2026, 1, 1)))
        with connect(self.paths.warehouse) as con:
            con.executemany("insert into raw.usage_events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            [(load_id,)] = con.execute("select coalesce(max(load_id), 0) + 1 from raw.ingest_loads").fetchall()
            con.execute("insert into raw.ingest_loads values (?, ?, ?, 0, now()::timestamp)", [load_id, events[0].landing_date, 1])
            con.executemany("insert into raw.usage_changes values (?, cast(cast(? as timestamp) as date), ?)",
                            sorted({(load_id, e.occurred_at, e.account_id) for e in events}))

    def rate(self, first_month: date, as_of: date, last_month: date | None = None) -> "DbtRun":
        """dbt build of [first_month, last_month] as of `as_of`, with the rating asset's arguments."""
        window = RatingWindow(first_month, next_month(last_month or first_month), as_of)
        return run_dbt(dbt_build_args(BillingData(data_dir=str(self.paths.root))), window.dbt_env())

    def query(self, sql: str, *params: Any) -> list[dict]:
        with connect(self.paths.warehouse) as con:
            cursor = con.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def execute(self, sql: str) -> None:
        with connect(self.paths.warehouse) as con:
            con.execute(sql)


def _csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@dataclass(frozen=True)
class DbtRun:
    success: bool
    statuses: dict[str, str]  # unique_id -> pass | fail | error | warn | success | skipped

    def with_status(self, *statuses: str) -> list[str]:
        return sorted(node for node, status in self.statuses.items() if status in statuses)


_manifests: dict[str, Any] = {}  # per profile target
# This process's own target folder: parallel test workers must not write each other's artifacts.
_target = tempfile.mkdtemp(prefix="dbt_target_")


def run_dbt(args: list[str], env: dict[str, str] | None = None, target: str = "warehouse") -> DbtRun:
    """One in-process dbt invocation on the project, reusing the manifest parsed by the first one
    for the same profile target (`warehouse`: DuckDB, `spark`), with `env` (e.g. the rating window)
    set while it runs."""
    from dbt.cli.main import dbtRunner  # dbt takes seconds to import: only tests that rate pay it

    project = ["--project-dir", str(dbt_project.project_dir), "--profiles-dir", str(dbt_project.profiles_dir),
               "--target-path", _target, "--log-path", _target, "--target", target]
    if target not in _manifests:
        prepared = Path(dbt_project.project_dir) / "target" / "partial_parse.msgpack"
        if prepared.exists() and target == "warehouse":  # start from the prepared parse, as dagster-dbt does
            shutil.copy(prepared, _target)
        parsed = dbtRunner().invoke(["parse", "--quiet", *project])
        assert parsed.success, parsed.exception
        _manifests[target] = parsed.result
    with scoped_environment(env or {}):
        result = dbtRunner(manifest=_manifests[target]).invoke([*args, "--quiet", *project])
    if result.exception is not None:
        raise result.exception
    return DbtRun(result.success, {r.node.unique_id: str(r.status) for r in result.result.results})


def dumps(rows: list[dict]) -> str:
    return json.dumps(rows, default=str, sort_keys=True)


def _jan(account: str, metric: str, quantity: str, day: int, hour: int = 12, user: str | None = None,
         landed: str | None = None) -> Event:
    occurred = f"2026-01-{day:02d} {hour:02d}:00:00"
    return Event(account, metric, quantity, occurred, landed or occurred[:10], user)


def january_world(root: Path) -> RatingWorld:
    """Five accounts covering every pricing case in January 2026, amounts worked out alongside."""
    world = RatingWorld.create(
        root,
        accounts=[("acme", "active"), ("beta", "active"), ("cara", "active"), ("dora", "suspended"), ("late", "active")],
        subscriptions=[
            ("acme", "basic", "2026-01-01", "", "0"),
            ("beta", "basic", "2026-01-01", "2026-01-16", "0"),  # plan change on the 16th
            ("beta", "growth", "2026-01-16", "", "0"),
            ("cara", "growth", "2026-01-10", "", ""),  # the plan's 10 trial days: Jan 10-19
            ("dora", "basic", "2026-01-01", "", "0"),
            ("late", "basic", "2026-01-01", "", "0"),
        ],
        grants=[("acme-prepaid", "acme", "80.00", "2026-01-01", "", "prepaid")],
        overrides={"acme": {"discount_percent": "10"}},
    )
    world.land(
        # acme: 3500 calls, 1000 included -> 2500 x 0.01 = 25.00; 12 exports -> 2 packages of 10 = 4.00
        _jan("acme", "api_calls", "1000", 3), _jan("acme", "api_calls", "2000", 10), _jan("acme", "api_calls", "500", 20),
        *[_jan("acme", "exports", "1", 15, hour) for hour in range(12)],
        # beta on basic Jan 1-15 (15 days): 600 calls, floor(1000 x 15/31) = 483 included -> 117 x 0.01 = 1.17
        _jan("beta", "api_calls", "600", 5),
        # beta on growth Jan 16-31 (16 days): 12000 calls graduated = 10000 x 0.001 + 2000 x 0.0005 + 5.00 = 16.00;
        # seats peak 5, floor(2 x 16/31) = 1 included -> 4 x 10.00 = 40.00; 3 distinct users, volume 3 x 1.00
        _jan("beta", "api_calls", "12000", 20),
        _jan("beta", "seats", "2", 17), _jan("beta", "seats", "5", 18), _jan("beta", "seats", "4", 25),
        _jan("beta", "active_users", "1", 17, 9, "u1"), _jan("beta", "active_users", "1", 17, 10, "u2"),
        _jan("beta", "active_users", "1", 18, 9, "u1"), _jan("beta", "active_users", "1", 20, 9, "u3"),
        _jan("beta", "active_users", "1", 21, 9, "u2"),
        # cara: 5000 calls in trial (billed 0), 2000 calls after it = 2.00
        _jan("cara", "api_calls", "5000", 12), _jan("cara", "api_calls", "2000", 25),
        # dora: 6000 calls against a hard limit of 5000 -> 4000 billable = 40.00
        _jan("dora", "api_calls", "6000", 8),
        # late: 1500 calls, and 200 landing in the grace period before the close: 1700 -> 7.00
        _jan("late", "api_calls", "1500", 31, 23), _jan("late", "api_calls", "200", 31, 10, landed="2026-02-02"),
    )
    return world
