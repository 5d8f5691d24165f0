"""Ingest throughput: our DuckDB path against a per-line json.loads loop doing the same validation.

    python tests/benchmarks/bench_ingest.py [events] [runs]

Generates one landing day of NDJSON with the sample generator, ingests it `runs` times, and runs the
baseline on the same file in the same process run. Reports medians, MB/s, the ratio, and peak RSS of
the ingest (measured in a child process so the generator's memory does not count).
"""

import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from billing_pipeline.lib.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest import ingest_day
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.catalog_files import write_catalog_files
from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files

DAY = date(2026, 8, 3)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def baseline(path: Path, accounts: set[str], metrics: set[str]) -> tuple[int, int]:
    """The pile-of-scripts way: one json.loads per line, the same rules, valid rows collected."""
    loaded, quarantined, seen = [], 0, {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                quantity = Decimal(str(event.get("quantity", 1) if event.get("quantity") is not None else 1))
                stamp = event["occurred_at"]
                if not RFC3339.match(stamp) or quantity < 0 or not quantity.is_finite():
                    raise ValueError
                occurred = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                if event["account_id"] not in accounts or event["metric"] not in metrics or not event["event_id"]:
                    raise ValueError
            except (ValueError, KeyError, TypeError, InvalidOperation):
                quarantined += 1
                continue
            if event["event_id"] in seen:
                continue
            seen[event["event_id"]] = number
            loaded.append((event["event_id"], event["account_id"], event["metric"], quantity, occurred))
    return len(loaded), quarantined


def peak_rss_of_ingest(root: Path) -> float:
    code = (f"import resource; from pathlib import Path; from datetime import date; "
            f"from billing_pipeline.lib.ingest import ingest_day; from billing_pipeline.lib.warehouse import connect\n"
            f"with connect(Path('{root}/peak.duckdb')) as con:\n"
            f"    con.execute(\"ATTACH '{root}/w.duckdb' AS src (READ_ONLY)\"); con.execute('CREATE SCHEMA catalog')\n"
            f"    con.execute('CREATE TABLE catalog.accounts AS FROM src.catalog.accounts'); con.execute('CREATE TABLE catalog.metrics AS FROM src.catalog.metrics')\n"
            f"    con.execute('DETACH src'); ingest_day(con, Path('{root}/landing/usage'), date({DAY.year}, {DAY.month}, {DAY.day}))\n"
            f"print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip())


def main(events: int = 2_000_000, runs: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        accounts = write_catalog_files(root / "catalog", 200, DAY, 1, seed=3)
        write_usage_files(root / "landing" / "usage", accounts, UsageSpec(DAY, 1, events, seed=3, file_faults=False))
        (path,) = (root / "landing" / "usage" / DAY.isoformat()).glob("*.ndjson")
        megabytes = path.stat().st_size / 1e6
        catalog = read_catalog(root / "catalog")
        ours = []
        with connect(root / "w.duckdb") as con:
            write_catalog(con, catalog)
            for _ in range(runs):
                start = time.perf_counter()
                summary = ingest_day(con, root / "landing" / "usage", DAY)
                ours.append(time.perf_counter() - start)
        theirs = []
        for _ in range(runs):
            start = time.perf_counter()
            loaded, _ = baseline(path, catalog.account_ids, catalog.metric_codes)
            theirs.append(time.perf_counter() - start)
        assert loaded == summary.loaded, (loaded, summary.loaded)
        ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
        print(f"input: {summary.lines_read:,} lines, {megabytes:,.0f} MB NDJSON; {runs} runs, medians")
        print(f"duckdb ingest   {ours_s:7.2f} s  {megabytes / ours_s:7.0f} MB/s")
        print(f"json.loads loop {theirs_s:7.2f} s  {megabytes / theirs_s:7.0f} MB/s")
        print(f"speed-up        {theirs_s / ours_s:7.1f}x")
        print(f"peak RSS of one ingest: {peak_rss_of_ingest(root):,.0f} MB")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
