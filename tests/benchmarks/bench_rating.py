"""Rating one month of generated events: `dbt build` of the month against one hand-written query.

    python tests/benchmarks/bench_rating.py [events=100_000_000] [runs=3] [accounts=2000]

Events go straight into `raw.usage_events` (the ingestion table; `raw.usage_events_loaded` is the
deduplicating view both sides read), generated in DuckDB with range() and hash-based columns:
heavy-tailed per-account volumes, eight metrics over every aggregation, time-ordered like landed
data. The catalog is the sample's plans (every pricing model, allowances, a hard limit, a minimum
charge) with each account on one plan all month.

Measured in the same run, medians of `runs`:
- dbt: `dbt build` of the month exactly as the Dagster asset invokes it (subprocess, the asset's
  arguments and environment with another as_of each run like the daily schedule, the warehouse's
  target folder, JSON logs, checks and reconciliation included), wall clock; and dbt's own
  execution time (its FinishedRunningStats event), which leaves out dbt's start-up and parse. The
  first run after a project change parses it all; one warm-up run before the measured ones;
- baseline: one hand-written DuckDB query computing the same per-account invoice totals, run in a
  child process (its connection set-up not timed);
- the floor under the dbt build: a `dbt build` of a one-model project (dbt's fixed cost on this
  machine), plus one query over the month's events per account, metric and day (the grain of
  fct_usage_daily), plus the hand query (the reconciliation reads the events once more on its own,
  per account and metric, as the hand query does). The 3x target cannot be met below it.
Both sides' totals are compared account by account. Peak RSS and CPU time are each child process's
(CPU time is steadier than wall clock while other work shares the machine).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.defs.rating.assets import dbt_build_args, dbt_target_path
from billing_pipeline.lib.rating.engine import RatingEngine
from billing_pipeline.lib.rating.project import DBT_PROJECT_DIR, prepare_manifest
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest.usage_events import ensure_schema
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.catalog_files import PLANS_YAML

MONTH = date(2026, 1, 1)
NEXT = date(2026, 2, 1)
AS_OF = date(2026, 1, 31)  # the month is open: every run rates it again, nothing gets issued

# metric, share of events (percent), quantity expression over the row number i
METRICS = [
    ("api_calls", 50, "1"),
    ("lines_reviewed", 15, "hash(i, 3) % 200"),
    ("ai_tokens_input", 10, "hash(i, 3) % 2000"),
    ("ai_tokens_output", 10, "hash(i, 3) % 2000"),
    ("docs_generated", 5, "1"),
    ("exports", 3, "1"),
    ("seats", 2, "hash(i, 3) % 40"),
    ("active_users", 5, "1"),
]


def write_catalog_folder(folder: Path, accounts: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plans.yaml").write_text(yaml.safe_dump(PLANS_YAML, sort_keys=False))
    plans = [p["code"] for p in PLANS_YAML["plans"]]
    lines = ["account_id,name,email,status,stripe_customer_id"]
    lines += [f"acct_{n:05d},Account {n},a{n}@example.com,active," for n in range(accounts)]
    (folder / "accounts.csv").write_text("\n".join(lines) + "\n")
    lines = ["account_id,plan_code,starts_on,ends_on,trial_days"]
    lines += [f"acct_{n:05d},{plans[n % len(plans)]},2025-12-01,,0" for n in range(accounts)]
    (folder / "subscriptions.csv").write_text("\n".join(lines) + "\n")
    (folder / "credit_grants.csv").write_text("grant_id,account_id,amount,granted_on,expires_on,kind\n")
    (folder / "overrides.yaml").write_text("accounts: {}\n")


def generate_events(con, events: int, accounts: int) -> None:
    seconds = int((NEXT - MONTH).total_seconds())
    bounds, metric_case, quantity_case = 0, [], []
    for metric, share, quantity in METRICS:
        bounds += share
        metric_case.append(f"when m < {bounds} then '{metric}'")
        quantity_case.append(f"when m < {bounds} then {quantity}")
    con.execute(f"""
        insert into raw.usage_events
        select
            'e' || i as event_id,
            -- heavy tail: u^4 piles most events on the first accounts
            'acct_' || lpad(cast(floor({accounts} * pow((hash(i, 1) % 1000003) / 1000003.0, 4)) as int)::varchar, 5, '0'),
            case {' '.join(metric_case)} end as metric,
            cast(case {' '.join(quantity_case)} end as decimal(18, 6)) as quantity,
            occurred_at,
            'u' || (hash(i, 4) % 300) as user_id,
            '/v1/e' || (hash(i, 5) % 5) as endpoint,
            null, null,
            hash(i) as content_hash,
            cast(occurred_at as date) as landing_date,
            'bench/' || cast(occurred_at as date) || '.ndjson' as source_file,
            i as line_number,
            timestamp '2026-02-01' as ingested_at
        from (
            select i, hash(i, 2) % 100 as m,
                   timestamp '{MONTH}' + to_seconds(cast(i * {seconds} // {events} as bigint)) as occurred_at
            from range({events}) as t(i)
        )
    """)


# Per account: each charged metric aggregated over the month, capped at a hard limit, less the
# allowance, priced by its model and rounded half-up to cents; plus the base fee; topped up to the
# minimum charge. No segments, trials, discounts or credits in this catalog, so none here. Written
# to be fast: one aggregation per (account, metric), distinct values only over the events of the
# unique_count metrics (named as literals, like the dbt models do), the catalog joined afterwards.
HAND_QUERY = """
with totals as (
    select account_id, metric, sum(quantity) as quantity_sum, count(*) as events, max(quantity) as quantity_max
    from raw.usage_events_loaded
    where occurred_at >= timestamp '{month}' and occurred_at < timestamp '{next}'
    group by account_id, metric
),
distinct_values as (
    select account_id, metric, count(distinct case metric {unique_cases} end) as distinct_count
    from raw.usage_events_loaded
    where occurred_at >= timestamp '{month}' and occurred_at < timestamp '{next}' and metric in ({unique_metrics})
    group by account_id, metric
),
usage as (
    select t.account_id, t.metric,
        case m.aggregation when 'sum' then t.quantity_sum when 'count' then t.events when 'max' then t.quantity_max
                           else coalesce(d.distinct_count, 0) end::decimal(38, 6) as quantity
    from totals t join catalog.metrics m on m.metric_code = t.metric
    left join distinct_values d on d.account_id = t.account_id and d.metric = t.metric
),
charges as (
    select s.account_id, c.*, coalesce(u.quantity, 0) as quantity,
        greatest(case when c.enforcement = 'hard' and c.usage_limit is not null
                      then least(coalesce(u.quantity, 0), c.usage_limit) else coalesce(u.quantity, 0) end
                 - c.included, 0) as billable
    from catalog.subscriptions s
    join catalog.plan_charges c on c.plan_code = s.plan_code
    left join usage u on u.account_id = s.account_id and u.metric = c.metric_code
),
priced as (
    select ch.account_id, ch.metric_code,
        round(case ch.model
            when 'per_unit' then ch.billable::decimal(38, 6) * ch.unit_price
            when 'flat' then case when ch.billable > 0 then ch.flat_fee else 0 end
            -- whole packages; as a cast integer, or DuckDB's double division would make the whole CASE double
            when 'package' then cast(ceil(ch.billable::double / ch.package_size::double) as bigint) * ch.package_price
            when 'graduated' then (select sum(greatest(least(ch.billable, coalesce(t.up_to, ch.billable)) - t.from_quantity, 0)
                                              ::decimal(38, 6) * t.unit_price
                                              + case when ch.billable > t.from_quantity then t.flat_fee else 0 end)
                                   from catalog.plan_tiers t where t.plan_code = ch.plan_code and t.metric_code = ch.metric_code)
            when 'volume' then (select sum(ch.billable::decimal(38, 6) * t.unit_price + t.flat_fee)
                                from catalog.plan_tiers t where t.plan_code = ch.plan_code and t.metric_code = ch.metric_code
                                  and ch.billable > t.from_quantity and (t.up_to is null or ch.billable <= t.up_to))
        end::decimal(38, 15), 2) as amount
    from charges ch
),
accounts as (
    select s.account_id, p.base_fee + coalesce(sum(pr.amount), 0) as charges, p.minimum_charge
    from catalog.subscriptions s join catalog.plans p on p.plan_code = s.plan_code
    left join priced pr on pr.account_id = s.account_id
    group by s.account_id, p.base_fee, p.minimum_charge
)
select account_id, cast(greatest(charges, minimum_charge) * 100 as bigint) as total_cents from accounts
"""


def run_query(warehouse: Path, query: str) -> tuple[float, list[tuple], int, float]:
    """One query in a child process (its connection set-up not timed): seconds, rows, peak RSS, CPU s."""
    code = f"""
import json, resource, sys, time, duckdb
con = duckdb.connect({str(warehouse)!r}, read_only=True)
con.execute("set TimeZone = 'UTC'")
con.execute("set enable_progress_bar = false")
started, cpu = time.perf_counter(), time.process_time()
rows = con.execute(sys.stdin.read()).fetchall()
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({{"seconds": elapsed, "cpu": cpu, "rows": [list(map(str, r)) for r in rows],
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""
    out = subprocess.run([sys.executable, "-c", code], input=query, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["seconds"], result["rows"], result["rss_kb"], result["cpu"]


def run_hand_query(warehouse: Path) -> tuple[float, dict[str, int], int, float]:
    unique = [m for m in PLANS_YAML["metrics"] if m.get("aggregation") == "unique_count"]
    query = HAND_QUERY.format(month=MONTH, next=NEXT, unique_metrics=", ".join(f"'{m['code']}'" for m in unique),
                              unique_cases=" ".join(f"when '{m['code']}' then {m['field']}" for m in unique))
    seconds, rows, rss_kb, cpu = run_query(warehouse, query)
    return seconds, {account: int(total) for account, total in rows}, rss_kb, cpu


# The pass fct_usage_daily's grain needs (per account, metric and day), written as one query: with
# the hand query (per-account totals, as the reconciliation's own pass over the events is) and
# dbt's fixed cost, the least any dbt build holding the contract could take on this machine.
DAILY_PASS = f"""
select account_id, metric, cast(occurred_at as date) as usage_date, sum(quantity), count(*), max(quantity)
from raw.usage_events_loaded
where occurred_at >= timestamp '{MONTH}' and occurred_at < timestamp '{NEXT}'
group by all
"""


def run_one_model_build(root: Path) -> float:
    """Wall clock of `dbt build` of a one-model project on an empty DuckDB file: what any dbt run
    costs before it does work here (interpreter, imports, project load, connection)."""
    project = root / "one_model"
    (project / "models").mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text("name: one_model\nversion: '1.0'\nprofile: one_model\n")
    (project / "profiles.yml").write_text(yaml.safe_dump({"one_model": {"target": "local", "outputs": {
        "local": {"type": "duckdb", "path": str(project / "one.duckdb"), "threads": 2}}}}))
    (project / "models" / "one.sql").write_text("select 1 as one\n")
    env = {**os.environ, "DBT_LOG_FORMAT": "json", "DBT_PROFILES_DIR": str(project), "DBT_PROJECT_DIR": str(project),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "build", "--no-write-json"], env=env, cwd=project,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def run_dbt_build(root: Path, as_of: date, full_refresh: bool = True, selection: list[str] | None = None,
                  scope_env: dict[str, str] | None = None, engine: str = "duckdb") -> dict:
    """`dbt build` of the month the way the Dagster asset invokes it (with --full-refresh by default,
    so the incremental usage history is rebuilt from every event: the whole month's rating): the asset's arguments and
    environment (the window), the warehouse's target folder kept between runs and seeded with the
    prepared partial_parse.msgpack (as dagster-dbt does), JSON logs on stdout, and the asset's
    `selection` and `scope_env` if any (lib/rating/scope.py). `engine` picks the dbt target as the
    rating_engine resource does (on Spark, the seam must be published first). Run in a child process
    that reports its dbt child's peak RSS and CPU time."""
    billing_data = BillingData(data_dir=str(root))
    rating_engine = RatingEngine(engine=engine)
    target = dbt_target_path(billing_data, engine)
    if not (target / "partial_parse.msgpack").exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(DBT_PROJECT_DIR / "target" / "partial_parse.msgpack", target)
    env = {**os.environ, **RatingWindow(MONTH, NEXT, as_of).dbt_env(), **(scope_env or {}),
           **rating_engine.dbt_env(billing_data.paths), "DBT_LOG_FORMAT": "json",
           "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target),
           "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR), "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR)}
    args = [*dbt_build_args(billing_data, full_refresh, rating_engine.dbt_target), *(selection or [])]
    code = ("import resource, subprocess, sys, json\n"
            "log = sys.argv.pop(1)\n"
            "with open(log, 'w') as out:\n"
            "    done = subprocess.run(sys.argv[1:], stdout=out)\n"
            "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(json.dumps({'rc': done.returncode, 'rss_kb': usage.ru_maxrss, 'cpu': usage.ru_utime + usage.ru_stime}))")
    log = root / "dbt_events.jsonl"
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(log), str(Path(sys.executable).parent / "dbt"), *args],
                         capture_output=True, text=True, env=env, cwd=DBT_PROJECT_DIR)
    wall = time.perf_counter() - started
    result = json.loads(out.stdout.strip().splitlines()[-1])
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    if result["rc"] != 0:
        errors = [e["info"]["msg"] for e in events if e["info"]["level"] == "error"]
        raise SystemExit("dbt build failed:\n" + "\n".join(errors)[-4000:] + out.stderr[-2000:])
    [execution] = [e["data"]["execution_time"] for e in events if e["info"]["name"] == "FinishedRunningStats"]
    nodes = [(e["data"]["node_info"]["unique_id"].split(".")[2], e["data"]["execution_time"]) for e in events
             if e["info"]["name"] in ("LogModelResult", "LogTestResult")]
    return {"wall": wall, "execution": execution, "rss_kb": result["rss_kb"], "cpu": result["cpu"],
            "slowest": sorted(nodes, key=lambda n: -n[1])[:6], "nodes": len(nodes)}


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    accounts = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    prepare_manifest()
    with tempfile.TemporaryDirectory(prefix="bench_rating_") as tmp:
        root = Path(tmp)
        write_catalog_folder(root / "catalog", accounts)
        warehouse = root / "warehouse" / "billing.duckdb"
        started = time.perf_counter()
        with connect(warehouse) as con:
            write_catalog(con, read_catalog(root / "catalog"))
            ensure_schema(con)
            generate_events(con, events, accounts)
            con.execute("checkpoint")
        print(f"generated {events:,} events for {accounts:,} accounts in {time.perf_counter() - started:.1f} s "
              f"({warehouse.stat().st_size / 1e9:.2f} GB)")

        # the first run on a warehouse parses the whole project (its profile is this warehouse's)
        first = run_dbt_build(root, AS_OF - timedelta(days=runs))
        print(f"first dbt build on this warehouse (full parse, tables created): {first['wall']:.2f} s")
        run_one_model_build(root)  # its partial parse, as the rating's is warm
        dbt_runs, hand_runs, daily_runs, one_model_runs = [], [], [], []
        for run in range(runs):
            # a different as_of every run, as the daily schedule passes; the month stays open
            dbt_runs.append(run_dbt_build(root, AS_OF - timedelta(days=runs - 1 - run)))
            hand_runs.append(run_hand_query(warehouse))
            daily_runs.append(run_query(warehouse, DAILY_PASS)[0])
            one_model_runs.append(run_one_model_build(root))
        with connect(warehouse, read_only=True) as con:
            rated = dict(con.execute("select account_id, total_cents from fct_invoices").fetchall())
        expected = hand_runs[-1][1]
        mismatched = sorted(a for a in expected.keys() | rated.keys() if expected.get(a) != rated.get(a))

        wall = statistics.median(r["wall"] for r in dbt_runs)
        inside = statistics.median(r["execution"] for r in dbt_runs)
        cpu = statistics.median(r["cpu"] for r in dbt_runs)
        hand = statistics.median(r[0] for r in hand_runs)
        print(f"\n{'measure':<52}{'median s':>10}{'x hand':>9}")
        print(f"{'hand-written DuckDB query (per-account totals)':<52}{hand:>10.2f}{1:>9.2f}")
        print(f"{'dbt build of the month, wall clock':<52}{wall:>10.2f}{wall / hand:>9.2f}")
        print(f"{'dbt build of the month, execution (no start/parse)':<52}{inside:>10.2f}{inside / hand:>9.2f}")
        fixed, daily = statistics.median(one_model_runs), statistics.median(daily_runs)
        floor = fixed + daily + hand
        print(f"{'  dbt build of a one-model project (fixed cost)':<52}{fixed:>10.2f}{fixed / hand:>9.2f}")
        print(f"{'  one pass per account, metric and day (query)':<52}{daily:>10.2f}{daily / hand:>9.2f}")
        print(f"{'  floor: fixed cost + that pass + the hand query':<52}{floor:>10.2f}{floor / hand:>9.2f}")
        print(f"\nCPU s (median): dbt build {cpu:.1f} ({dbt_runs[-1]['nodes']} nodes), hand query "
              f"{statistics.median(r[3] for r in hand_runs):.1f}; machine load "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"peak RSS: dbt build {max(r['rss_kb'] for r in dbt_runs) / 1e6:.2f} GB, "
              f"hand query {max(r[2] for r in hand_runs) / 1e6:.2f} GB")
        print(f"invoices: {len(rated):,}; totals equal to the hand query: "
              f"{'all' if not mismatched else f'NO, {len(mismatched)} differ, e.g. {mismatched[:3]}'}")
        print("slowest dbt nodes (last run): " + ", ".join(f"{n} {t:.2f}s" for n, t in dbt_runs[-1]["slowest"]))


if __name__ == "__main__":
    main()
