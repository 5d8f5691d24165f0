"""The incremental cost of rating: one more day landed in a month of generated events, re-rated,
against a full rebuild of the month and dbt's fixed cost, measured in the same run.

    python tests/benchmarks/bench_incremental.py [events=10_000_000[,100_000_000...]] [runs=3] [accounts=2000]

For each month size (comma-separated, to show how the incremental cost grows with the month), the
month's events are generated as the rating benchmark does (bench_rating.py) and logged as one
ingestion load. Then, `runs` times, medians reported:
- one more day: a day's worth of new events (events / 30) for the month's last day, logged as a load
  the way ingestion logs it (raw.usage_changes), then what the Dagster rating asset does: decide what
  to rebuild (lib/rating/scope.py; here the models pricing usage), run that `dbt build`, record it;
- nothing new: the same with no new load (the decision finds nothing to rebuild; dbt does not run);
  and the check `billing-pipeline run` makes before loading anything (run_record.nothing_new_since,
  in a fresh interpreter); also, for reference, the usage `dbt build` run anyway with nothing new;
- full rebuild: `dbt build --full-refresh` of the month, as the Dagster asset invokes it;
- dbt's fixed cost: `dbt build` of a one-model project.
Every incremental build's invoice totals are compared with a full rebuild of the same data. Peak RSS
is the dbt child's.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench_rating import AS_OF, MONTH, NEXT, generate_events, run_dbt_build, run_one_model_build, write_catalog_folder

from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest.usage_events import ensure_schema
from billing_pipeline.lib.rating.project import prepare_manifest
from billing_pipeline.lib.rating.scope import rating_scope, record_build
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.warehouse import connect

LAST_DAY = date(2026, 1, 31)
WINDOW = RatingWindow(MONTH, NEXT, AS_OF)


def log_load(con, where: str) -> None:
    """Log the rows matching `where` as one ingestion load, as lib/ingest/usage_events.py does."""
    [(load_id,)] = con.execute("select coalesce(max(load_id), 0) + 1 from raw.ingest_loads").fetchall()
    con.execute("insert into raw.ingest_loads values (?, date '2026-01-31', 1, 0, now()::timestamp)", [load_id])
    con.execute(f"insert into raw.usage_changes select distinct {load_id}, cast(occurred_at as date), account_id "
                f"from raw.usage_events where {where}")


def land_day(con, run: int, events: int) -> None:
    """A day's worth of new events on the month's last day (new event ids), logged as a load."""
    con.execute(f"""
        insert into raw.usage_events
        select 'r{run}-' || event_id, account_id, metric, quantity,
               timestamp '{LAST_DAY}' + to_seconds(cast(line_number % 86400 as bigint)), user_id, endpoint, request_id,
               properties, content_hash, date '{LAST_DAY}', 'bench/run{run}.ndjson', line_number, now()::timestamp
        from raw.usage_events where source_file like 'bench/2026-%' and line_number % 30 = {run % 30}
        limit {events}
    """)
    log_load(con, f"source_file = 'bench/run{run}.ndjson'")


def totals(warehouse: Path) -> dict[str, int]:
    with connect(warehouse, read_only=True) as con:
        return dict(con.execute("select account_id, total_cents from fct_invoices").fetchall())


def rate(root: Path, warehouse: Path, expected: str, full_refresh: bool = False) -> dict:
    """What the rating asset does: decide what to rebuild, build that, record the build. Wall clock of
    the whole; the dbt child's figures when dbt ran."""
    started = time.perf_counter()
    with connect(warehouse, read_only=True) as con:
        scope = rating_scope(con, WINDOW, full_refresh)
    if scope.kind != expected:
        raise SystemExit(f"expected to rebuild {expected}, the rating would rebuild {scope.kind}: {scope.reason}")
    result = {"rss_kb": 0, "slowest": [], "nodes": 0}
    if scope.kind != "nothing":
        result = run_dbt_build(root, AS_OF, full_refresh=full_refresh, selection=scope.dbt_args(), scope_env=scope.dbt_env())
        with connect(warehouse) as con:
            record_build(con, scope)
    return {**result, "wall": time.perf_counter() - started}


def fast_path_seconds(root: Path) -> float:
    """`billing-pipeline run`'s nothing-new check in a fresh interpreter (it runs before Dagster loads)."""
    code = ("from billing_pipeline.cli.run_record import nothing_new_since\n"
            "from billing_pipeline.exchange.data_dir import DataDir\n"
            f"nothing_new_since(DataDir({str(root)!r}), __import__('datetime').date(2026, 1, 31))")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def measure(events: int, runs: int, accounts: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_incremental_") as tmp:
        root = Path(tmp)
        write_catalog_folder(root / "catalog", accounts)
        warehouse = root / "warehouse" / "billing.duckdb"
        with connect(warehouse) as con:
            write_catalog(con, read_catalog(root / "catalog"))
            ensure_schema(con)
            generate_events(con, events, accounts)
            log_load(con, "true")
            con.execute("checkpoint")
        rate(root, warehouse, "all")  # warm-up: full parse, tables created, the build recorded
        run_one_model_build(root)
        full, one_day, nothing, anyway, fixed, fast, rss, equal = [], [], [], [], [], [], [], True
        for run in range(runs):
            with connect(warehouse) as con:
                land_day(con, run, events // 30)
            one_day.append(rate(root, warehouse, "usage"))
            incremental = totals(warehouse)
            nothing.append(rate(root, warehouse, "nothing"))
            anyway.append(run_dbt_build(root, AS_OF, full_refresh=False, selection=["--selector", "usage_change"],
                                        scope_env={"BILLING_RATING_CHANGED_AFTER_LOAD": str(run + 1)}))
            full.append(rate(root, warehouse, "all", full_refresh=True))
            equal = equal and incremental == totals(warehouse)
            fixed.append(run_one_model_build(root))
            fast.append(fast_path_seconds(root))
            rss += [r["rss_kb"] for r in (one_day[-1], anyway[-1], full[-1])]
        return {"full": statistics.median(r["wall"] for r in full), "one_day": statistics.median(r["wall"] for r in one_day),
                "nothing": statistics.median(r["wall"] for r in nothing), "anyway": statistics.median(r["wall"] for r in anyway),
                "fixed": statistics.median(fixed), "fast": statistics.median(fast), "rss_gb": max(rss) / 1e6,
                "equal": equal, "slowest": one_day[-1]["slowest"], "nodes": one_day[-1]["nodes"],
                "full_nodes": full[-1]["nodes"]}


def main() -> None:
    sizes = [int(n) for n in (sys.argv[1] if len(sys.argv) > 1 else "10000000").replace("_", "").split(",")]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    accounts = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    prepare_manifest()
    print(f"{'events/month':>14}{'full s':>9}{'+1 day s':>10}{'x fixed':>9}{'x full':>8}{'nothing s':>11}{'x fixed':>9}"
          f"{'dbt anyway s':>14}{'check s':>9}{'fixed s':>9}{'peak GB':>9}  totals")
    for events in sizes:
        r = measure(events, runs, accounts)
        print(f"{events:>14,}{r['full']:>9.2f}{r['one_day']:>10.2f}{r['one_day'] / r['fixed']:>9.2f}{r['one_day'] / r['full']:>8.2f}"
              f"{r['nothing']:>11.2f}{r['nothing'] / r['fixed']:>9.2f}{r['anyway']:>14.2f}{r['fast']:>9.2f}{r['fixed']:>9.2f}"
              f"{r['rss_gb']:>9.2f}  {'equal to a full rebuild' if r['equal'] else 'DIFFER from a full rebuild'}")
        print(f"  +1 day build: {r['nodes']} nodes (full rebuild {r['full_nodes']}); slowest: "
              + ", ".join(f"{n} {t:.2f}s" for n, t in r["slowest"]))


if __name__ == "__main__":
    main()
