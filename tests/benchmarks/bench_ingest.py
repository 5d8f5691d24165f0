"""Ingest throughput: our DuckDB path against a per-line json.loads loop doing the same validation.

    python tests/benchmarks/bench_ingest.py [events] [runs]

Generates NDJSON with the sample generator (in days of at most 1M events, so the generator's memory
stays small, all gathered into one landing day), ingests that day `runs` times into a file warehouse,
and runs the baseline `runs` times on the same files in the same process run. Each ingest is into a
new warehouse (with the catalog), so each reads the file as new. Both sides read the same
bytes. Reports medians of wall and CPU seconds, MB/s of input, the ratio, and the peak RSS of one
ingest measured in a child process (so neither the generator nor the baseline counts).

Also measured in the same run, as floors no ingest on this machine can go under: DuckDB's own
NDJSON reader with the contract's types, in parallel and with nothing else (no line numbers,
validation, quarantine or deduplication; bad lines skipped), writing the rows into a table of a
file database, and into a Parquet file.
"""

import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, time as time_of_day, timedelta, timezone
from decimal import ROUND_DOWN, Context, Decimal
from pathlib import Path

import duckdb

from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest.usage_events import ingest_day
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.catalog_files import write_catalog_files
from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files

DAY = date(2026, 8, 3)
EVENTS_PER_GENERATED_DAY = 1_000_000
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")
PLACES, LIMIT, EXACT = Decimal("1e-9"), Decimal("1e20"), Context(prec=60)
LATEST = datetime.combine(DAY + timedelta(days=1), time_of_day()) + timedelta(hours=14)  # the late tolerance


class _Number(str):
    """A JSON number kept as written."""


class _Object(dict):
    """A JSON object that knows whether a key appeared in it twice."""

    def __init__(self, pairs):
        super().__init__(pairs)
        self.repeats_a_key = len(self) != len(pairs)


def _quantity(value) -> Decimal | None:
    """The exact quantity, or None if it is not a number >= 0 < 10^20 with at most 9 decimal places."""
    if value is None:
        return Decimal(1)
    if not isinstance(value, _Number) or not NUMBER.match(value):
        return None
    quantity = Decimal(value)
    if quantity < 0 or quantity >= LIMIT or quantity != quantity.quantize(PLACES, rounding=ROUND_DOWN, context=EXACT):
        return None
    return quantity.quantize(PLACES, context=EXACT).copy_abs()  # -0 is 0


def _occurred(stamp) -> datetime | None:
    match = RFC3339.match(stamp) if isinstance(stamp, str) else None
    if not match:
        return None
    leap = match.group(2) == "60"
    text = re.sub(r":60(\.\d+)?", ":59.999999", stamp) if leap else stamp
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.upper().replace("Z", "+00:00"))  # microseconds, truncated
    try:
        occurred = datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None)
    except ValueError:
        return None
    return None if leap and occurred.time().replace(microsecond=0) != time_of_day(23, 59, 59) else occurred


def _judge(event, accounts: set[str], metrics: set[str]) -> tuple[str | None, tuple | None]:
    """One parsed line against the raw event contract: (reason, None) or (None, the row's content)."""
    if not isinstance(event, dict):
        return "not_an_object", None
    if event.repeats_a_key or isinstance(event.get("properties"), _Object) and event["properties"].repeats_a_key:
        return "duplicate_key", None
    if any(event.get(k) is None for k in ("event_id", "account_id", "metric", "occurred_at")):
        return "missing_field", None
    quantity = _quantity(event.get("quantity"))
    if quantity is None:
        return "invalid_quantity", None
    occurred = _occurred(event["occurred_at"])
    if occurred is None:
        return "invalid_timestamp", None
    if occurred > LATEST:
        return "occurred_after_landing", None
    properties = event.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return "invalid_properties", None
    if event["account_id"] not in accounts:
        return "unknown_account", None
    if event["metric"] not in metrics:
        return "unknown_metric", None
    return None, (event["account_id"], event["metric"], quantity, occurred, event.get("user_id"), event.get("endpoint"),
                  event.get("request_id"), None if properties is None else json.dumps(properties, separators=(",", ":")))


def baseline(paths: list[Path], accounts: set[str], metrics: set[str]) -> tuple[int, int, int]:
    """The pile-of-scripts way: one json.loads per line, the same rules, first landing wins.

    Keeps what ingestion keeps: valid rows in UTC with exact quantities (numbers parsed from their
    text, never through a float), quarantined lines with file, line, raw text and reason (duplicate
    keys, RFC 3339, the late tolerance included), duplicates counted and conflicting re-uses of an
    event_id quarantined.
    """
    loaded, quarantine, first_seen, duplicates = [], [], {}, 0
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.rstrip("\n")
                if not text.strip():
                    continue
                try:
                    event = json.loads(text, parse_int=_Number, parse_float=_Number, object_pairs_hook=_Object)
                except ValueError:
                    quarantine.append((path.name, number, text, "malformed_json"))
                    continue
                reason, content = _judge(event, accounts, metrics)
                if reason is None:
                    earlier = first_seen.setdefault(event["event_id"], content)
                    if earlier is not content:
                        if earlier == content:
                            duplicates += 1
                            continue
                        reason = "conflicting_event_id"
                if reason is not None:
                    quarantine.append((path.name, number, text, reason))
                    continue
                loaded.append((event["event_id"], *content, path.name, number))
    return len(loaded), duplicates, len(quarantine)


def land_ndjson(root: Path, events: int) -> list[Path]:
    """Generated NDJSON gathered into the one landing day DAY; returns the files in landing order."""
    days = max(1, math.ceil(events / EVENTS_PER_GENERATED_DAY))
    accounts = write_catalog_files(root / "catalog", 200, DAY, days, seed=3)
    generated = root / "generated"
    write_usage_files(generated, accounts, UsageSpec(DAY, days, events // days, seed=3, file_faults=False))
    target = root / "landing" / "usage" / DAY.isoformat()
    target.mkdir(parents=True)
    for path in generated.glob("*/*.ndjson"):
        path.rename(target / path.name)
    return sorted(target.iterdir())


FLOOR_COLUMNS = ("{'event_id': 'VARCHAR', 'account_id': 'VARCHAR', 'metric': 'VARCHAR', 'quantity': 'DECIMAL(38,9)', "
                 "'occurred_at': 'TIMESTAMPTZ', 'user_id': 'VARCHAR', 'endpoint': 'VARCHAR', 'request_id': 'VARCHAR', "
                 "'properties': 'JSON'}")


def floor_write(con: duckdb.DuckDBPyConnection, paths: list[Path], into: str, root: Path) -> None:
    """The files straight through DuckDB's NDJSON reader into a table ("table") or Parquet ("parquet")."""
    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    reader = f"read_json({files}, format='newline_delimited', columns={FLOOR_COLUMNS}, ignore_errors=true)"
    if into == "table":
        con.execute(f"CREATE OR REPLACE TABLE events AS SELECT * FROM {reader}")
    else:
        con.execute(f"COPY (SELECT * FROM {reader}) TO '{root / 'floor.parquet'}' (FORMAT parquet)")


def peak_rss_of_ingest(root: Path) -> float:
    # VmHWM, not ru_maxrss: Linux carries the parent's RSS at fork into the child's ru_maxrss.
    code = (f"from pathlib import Path; from datetime import date; "
            f"from billing_pipeline.lib.ingest.usage_events import ingest_day; from billing_pipeline.lib.warehouse import connect\n"
            f"with connect(Path('{root}/peak.duckdb')) as con:\n"
            f"    con.execute(\"ATTACH '{root}/w.duckdb' AS src (READ_ONLY)\"); con.execute('CREATE SCHEMA catalog')\n"
            f"    con.execute('CREATE TABLE catalog.accounts AS FROM src.catalog.accounts'); con.execute('CREATE TABLE catalog.metrics AS FROM src.catalog.metrics')\n"
            f"    con.execute('DETACH src'); ingest_day(con, Path('{root}/landing/usage'), date({DAY.year}, {DAY.month}, {DAY.day}))\n"
            f"print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip())


def timed(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main(events: int = 300_000, runs: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = land_ndjson(root, events)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        catalog = read_catalog(root / "catalog")
        ours, theirs = [], []
        for run in range(runs):
            # A new warehouse each run: ingestion is file-level, so a second ingest of the same
            # warehouse would skip the unchanged file and measure nothing.
            with connect(root / ("w.duckdb" if run == 0 else f"w{run}.duckdb")) as con:
                write_catalog(con, catalog)
                ours.append(timed(lambda: ingest_day(con, root / "landing" / "usage", DAY)))
        # The floor on all cores and on one: what parsing in parallel can gain on this machine.
        floors = {("table", None): [], ("parquet", None): [], ("table", 1): []}
        with duckdb.connect(str(root / "floor.duckdb")) as floor:
            floor.execute("SET preserve_insertion_order = false")  # its fastest setting; ingest keeps line numbers
            all_cores = floor.execute("SELECT current_setting('threads')").fetchone()[0]
            for _ in range(runs):
                theirs.append(timed(lambda: baseline(paths, catalog.account_ids, catalog.metric_codes)))
                for (into, threads), times in floors.items():
                    floor.execute(f"SET threads = {threads or all_cores}")
                    times.append(timed(lambda: floor_write(floor, paths, into, root)))
        summary = ours[-1][2]
        assert theirs[-1][2] == (summary.loaded, summary.duplicates, summary.quarantined), (theirs[-1][2], summary)
        ours_s, theirs_s = (statistics.median(r[0] for r in ours), statistics.median(r[1] for r in ours)), \
            (statistics.median(r[0] for r in theirs), statistics.median(r[1] for r in theirs))
        print(f"input: {len(paths)} NDJSON file(s), {summary.lines_read:,} lines, {megabytes:,.0f} MB; {runs} runs, medians; "
              f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"loaded {summary.loaded:,}, duplicates {summary.duplicates:,}, quarantined {summary.quarantined:,} (same on both sides)")
        print(f"{'':16} {'wall s':>8} {'MB/s':>8} {'cpu s':>8}")
        for name, (wall, cpu) in (("duckdb ingest", ours_s), ("json.loads loop", theirs_s)):
            print(f"{name:16} {wall:8.2f} {megabytes / wall:8.0f} {cpu:8.2f}")
        print(f"speed-up (wall)  {theirs_s[0] / ours_s[0]:7.1f}x")
        for (into, threads), times in floors.items():
            wall, cpu = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
            where = f"{into}, {threads or all_cores} thread{'s' if (threads or all_cores) > 1 else ''}"
            print(f"floor, bare reader into {where:18} {wall:6.2f} s {megabytes / wall:6.0f} MB/s {cpu:6.2f} cpu s "
                  f"= {theirs_s[0] / wall:4.1f}x the loop; ingest runs at {wall / ours_s[0]:.2f}x its speed")
        print(f"peak RSS of one ingest: {peak_rss_of_ingest(root):,.0f} MB")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
