"""Landing one day of usage files into the warehouse, in SQL, with every line accounted for.

Each landed line ends in exactly one place:
- `raw.usage_events`: every valid row of the day (re-deliveries included), with a content hash;
- `raw.usage_quarantine`: lines (or whole files) that break the raw event contract, with the reason.
Which valid row counts is decided across all days by the views below (first landed wins, ordered by
landing day, file and line), so the result never depends on the order days or files were ingested in.

Ingestion works file by file: a file already ingested with the same content (SHA-256) is not read
again; a new or changed file is read and replaces only its own rows; a removed file takes only its
own rows away (except the rows of an issued month's file that changed since it was billed: those
stay, see issued_files.py). Each ingest that changes anything is a load in `raw.ingest_loads`, and
`raw.usage_changes` lists the (usage day, account) pairs whose loaded events it may have changed:
the rows read and removed, and every other copy of their event ids (a new copy that lands earlier
takes the place of the old one). The incremental rating models rebuild exactly those pairs.

Every file gets a row in `raw.ingest_files` (size, modification time, SHA-256 of its content, lines
read, status), and whatever under landing/usage lies outside the day folders is listed in
`raw.landing_problems`.
"""

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import duckdb

from billing_pipeline.lib.ingest import event_rules
from billing_pipeline.lib.ingest.issued_files import FileDecision, ROWS_KEPT, decide, previous_files, record_changes
from billing_pipeline.lib.ingest.landed_files import FileFault, content_hash, count_lines, stage_file
from billing_pipeline.lib.ingest.landing_inventory import LandedEntry, day_folder_entries, outside_day_folders
from billing_pipeline.lib.periods import period_text
from billing_pipeline.lib.publish.issued import issued_periods

DEFAULT_LATE_TOLERANCE_HOURS = 14  # the widest UTC offset: producers name folders by their local date

DDL = f"""
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw.usage_events (
    event_id VARCHAR NOT NULL, account_id VARCHAR NOT NULL, metric VARCHAR NOT NULL,
    quantity {event_rules.QUANTITY_TYPE} NOT NULL, occurred_at TIMESTAMP NOT NULL,
    user_id VARCHAR, endpoint VARCHAR, request_id VARCHAR, properties JSON,
    content_hash UBIGINT NOT NULL, landing_date DATE NOT NULL, source_file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS raw.usage_quarantine (
    landing_date DATE NOT NULL, source_file VARCHAR NOT NULL, line_number BIGINT,
    raw_text VARCHAR, reason VARCHAR NOT NULL, detail VARCHAR, event_id VARCHAR, quarantined_at TIMESTAMP NOT NULL
);
-- One row per file of a day folder. content_hash (SHA-256 of the bytes) tells a file landed again
-- unchanged from one that changed, without reading it.
CREATE TABLE IF NOT EXISTS raw.ingest_files (
    landing_date DATE NOT NULL, source_file VARCHAR NOT NULL, bytes BIGINT NOT NULL, lines_read BIGINT NOT NULL,
    blank_lines BIGINT NOT NULL, file_status VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL
);
ALTER TABLE raw.ingest_files ADD COLUMN IF NOT EXISTS content_hash VARCHAR;
ALTER TABLE raw.ingest_files ADD COLUMN IF NOT EXISTS detail VARCHAR;
ALTER TABLE raw.ingest_files ADD COLUMN IF NOT EXISTS first_seen_at TIMESTAMP;
-- With the size, tells a file untouched since it was read without hashing it (landing_changes.py).
ALTER TABLE raw.ingest_files ADD COLUMN IF NOT EXISTS modified_ns BIGINT;
-- One row per ingest that read or removed a file, and the (usage day, account) pairs whose loaded
-- events it may have changed: what the incremental rating models rebuild (dbt_project/macros/changes.sql).
CREATE TABLE IF NOT EXISTS raw.ingest_loads (
    load_id BIGINT PRIMARY KEY, landing_date DATE NOT NULL, files_read INTEGER NOT NULL, files_removed INTEGER NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS raw.usage_changes (load_id BIGINT NOT NULL, usage_date DATE NOT NULL, account_id VARCHAR NOT NULL);
-- Files and folders under landing/usage outside the day folders that are ingested.
CREATE TABLE IF NOT EXISTS raw.landing_problems (
    path VARCHAR NOT NULL, bytes BIGINT NOT NULL, reason VARCHAR NOT NULL, detail VARCHAR, seen_at TIMESTAMP NOT NULL
);
-- Files of issued months that changed after they were billed (issued_files.py).
CREATE TABLE IF NOT EXISTS raw.issued_file_changes (
    landing_date DATE NOT NULL, source_file VARCHAR NOT NULL, change VARCHAR NOT NULL,
    billed_hash VARCHAR, current_hash VARCHAR, issued_periods VARCHAR NOT NULL, held_period VARCHAR NOT NULL,
    detected_at TIMESTAMP NOT NULL, resolution VARCHAR, resolved_at TIMESTAMP, note VARCHAR
);
-- Holds written by the blocking ingestion checks (period_holds.py).
CREATE TABLE IF NOT EXISTS raw.check_holds (
    period VARCHAR NOT NULL, check_name VARCHAR NOT NULL, landing_date DATE NOT NULL,
    source_file VARCHAR, line_number BIGINT, detail VARCHAR NOT NULL, held_since TIMESTAMP NOT NULL
);
-- Event ids seen more than once (within a day or across days). Only these need the ordering
-- window below; every other event is trivially first-seen. Entries are never wrong to keep.
CREATE TABLE IF NOT EXISTS raw.repeated_event_ids (event_id VARCHAR PRIMARY KEY);

CREATE OR REPLACE VIEW raw.period_holds AS
SELECT period, check_name AS reason, landing_date, source_file, line_number, detail, held_since FROM raw.check_holds
UNION ALL
SELECT held_period, 'issued_file_changed', landing_date, source_file, NULL,
       source_file || ' was ' || change || ' after ' || issued_periods || ' was issued: the billed rows are kept; '
       || 'land the original again, or run `billing-pipeline acknowledge ' || source_file || '`', detected_at
FROM raw.issued_file_changes WHERE resolution IS NULL;

CREATE OR REPLACE VIEW raw.usage_event_deliveries AS
SELECT e.*,
       row_number() OVER w AS delivery,
       first_value(content_hash) OVER w AS first_hash,
       first_value(source_file || ':' || line_number) OVER w AS first_seen_at
FROM raw.usage_events e SEMI JOIN raw.repeated_event_ids r ON e.event_id = r.event_id
WINDOW w AS (PARTITION BY e.event_id ORDER BY landing_date, source_file, line_number);

CREATE OR REPLACE VIEW raw.usage_event_status AS
SELECT * EXCLUDE (delivery, first_hash),
       CASE WHEN delivery = 1 THEN 'loaded' WHEN content_hash = first_hash THEN 'duplicate' ELSE 'conflict' END AS status
FROM raw.usage_event_deliveries;

CREATE OR REPLACE VIEW raw.usage_events_loaded AS
SELECT event_id, account_id, metric, quantity, occurred_at, user_id, endpoint, request_id, properties,
       landing_date, source_file, line_number
FROM raw.usage_events e ANTI JOIN raw.repeated_event_ids r ON e.event_id = r.event_id
UNION ALL
SELECT event_id, account_id, metric, quantity, occurred_at, user_id, endpoint, request_id, properties,
       landing_date, source_file, line_number
FROM raw.usage_event_status WHERE status = 'loaded';

CREATE OR REPLACE VIEW raw.quarantine AS
SELECT landing_date, source_file, line_number, raw_text, reason, detail, event_id, quarantined_at
FROM raw.usage_quarantine
UNION ALL
SELECT landing_date, source_file, line_number,
       to_json(struct_pack(event_id, account_id, metric, quantity, occurred_at, user_id, endpoint, request_id, properties))::VARCHAR,
       'conflicting_event_id', 'event_id first landed at ' || first_seen_at || ' with other content', event_id, ingested_at
FROM raw.usage_event_status WHERE status = 'conflict'
UNION ALL
SELECT NULL, path, NULL, NULL, reason, detail, NULL, seen_at FROM raw.landing_problems;

-- lines read = loaded + duplicates + quarantined, per file. A file set aside whole (unreadable,
-- nested, added to an issued month...) counts the lines it holds as quarantined.
CREATE OR REPLACE VIEW raw.ingest_accounting AS
WITH per_file AS (
    SELECT landing_date, source_file,
           count(*) FILTER (WHERE status = 'loaded') AS loaded,
           count(*) FILTER (WHERE status = 'duplicate') AS duplicates,
           count(*) FILTER (WHERE status IN ('conflict', 'quarantined')) AS quarantined
    FROM (
        SELECT landing_date, source_file, 'loaded' AS status FROM raw.usage_events e
        ANTI JOIN raw.repeated_event_ids r ON e.event_id = r.event_id
        UNION ALL SELECT landing_date, source_file, status FROM raw.usage_event_status
        UNION ALL SELECT landing_date, source_file, 'quarantined' FROM raw.usage_quarantine WHERE line_number IS NOT NULL
    ) GROUP BY ALL
)
SELECT f.landing_date, f.source_file, f.bytes, f.lines_read, f.blank_lines, f.file_status,
       coalesce(p.loaded, 0) AS loaded, coalesce(p.duplicates, 0) AS duplicates,
       coalesce(p.quarantined, 0)
         + CASE WHEN f.file_status IN ('ok', {', '.join(repr(s) for s in ROWS_KEPT)}) THEN 0 ELSE f.lines_read END AS quarantined
FROM raw.ingest_files f LEFT JOIN per_file p USING (landing_date, source_file);
"""

CONTENT_HASH = "hash(account_id, metric, quantity, occurred_at, user_id, endpoint, request_id, properties::VARCHAR)"


@dataclass(frozen=True)
class DaySummary:
    day: date
    files: int
    bytes: int
    lines_read: int
    loaded: int
    duplicates: int
    quarantined: int
    quarantined_by_reason: dict[str, int]
    accounts: int
    occurred_min: str | None
    occurred_max: str | None
    files_not_read: dict[str, str]  # source_file -> status, for every file set aside or kept as billed


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    # Re-running the DDL costs a noticeable share of a day's ingest, so it runs only when it changed.
    version = hashlib.sha256(DDL.encode()).hexdigest()[:16]
    current = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'ingest_files'").fetchall()
    if current != [(version,)]:
        con.execute(DDL)
        _widen_quantity(con)
        con.execute(f"COMMENT ON TABLE raw.ingest_files IS '{version}'")


def _widen_quantity(con: duckdb.DuckDBPyConnection) -> None:
    """Warehouses from before DECIMAL(38, 9): widen the column (no value changes) and recompute the
    content hashes, which hash the typed quantity."""
    [(kind,)] = con.execute("""SELECT data_type FROM information_schema.columns
                               WHERE table_schema = 'raw' AND table_name = 'usage_events' AND column_name = 'quantity'""").fetchall()
    if kind != event_rules.QUANTITY_TYPE.replace(",", ", ") and kind != event_rules.QUANTITY_TYPE:
        con.execute(f"ALTER TABLE raw.usage_events ALTER quantity TYPE {event_rules.QUANTITY_TYPE}")
        con.execute(f"UPDATE raw.usage_events SET content_hash = {CONTENT_HASH}")


# Each line's fields typed and judged once, into a temporary table the day's inserts then split.
STAGE_DDL = f"""
CREATE OR REPLACE TEMP TABLE ingest_lines (
    file_no USMALLINT, line_number BIGINT, event_id VARCHAR, account_id VARCHAR, metric VARCHAR,
    quantity {event_rules.QUANTITY_TYPE}, occurred_at TIMESTAMP, user_id VARCHAR, endpoint VARCHAR, request_id VARCHAR,
    properties VARCHAR, reason VARCHAR, detail VARCHAR, raw_text VARCHAR
)
"""

BLANK = "blank_line"


def latest_allowed(day: date, late_tolerance_hours: int) -> datetime:
    """The latest occurred_at (UTC) a file of landing day `day` may hold."""
    return datetime.combine(day + timedelta(days=1), time()) + timedelta(hours=late_tolerance_hours)


@dataclass
class _File:
    """One file of the day this ingest reads, sets aside, or keeps as billed."""

    entry: LandedEntry | None  # None: a billed file no longer there
    rel: str
    status: str  # ok, a set-aside reason, or a ROWS_KEPT status
    detail: str | None = None
    content_hash: str | None = None
    lines: int = 0
    blank: int = 0
    modified_ns: int | None = None


def _done(value: str) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def ingest_day(con: duckdb.DuckDBPyConnection, landing_usage: Path, day: date,
               late_tolerance_hours: int = DEFAULT_LATE_TOLERANCE_HOURS, reread: bool = False) -> DaySummary:
    """Bring what is landed for `day` up to what its folder holds now, reading only the files that
    are new or changed (every file with `reread`)."""
    ensure_schema(con)
    event_rules.prepare(con)
    entries = day_folder_entries(landing_usage, day)
    known = {rel: (size, modified, digest, status) for rel, size, modified, digest, status in con.execute(
        "SELECT source_file, bytes, modified_ns, content_hash, file_status FROM raw.ingest_files WHERE landing_date = ?",
        [day]).fetchall()}
    stamps = {e.rel: e.path.stat().st_mtime_ns for e in entries if not e.is_folder}
    with ThreadPoolExecutor(max_workers=1) as pool:
        # A file with the size and modification time it was read with keeps its recorded SHA-256;
        # any other is hashed on a thread beside DuckDB's reading (hashlib releases the GIL).
        hashing = {}
        for e in entries:
            if e.is_folder:
                continue
            size, modified, digest, _ = known.get(e.rel, (None, None, None, None))
            untouched = not reread and digest is not None and (size, modified) == (e.size, stamps[e.rel])
            hashing[e.rel] = _done(digest) if untouched else pool.submit(content_hash, e.path)
        issued = issued_periods(con)
        previous = previous_files(con, day, issued) if issued else {}
        decisions = {}
        if period_text(day) in issued or any(p.issued_periods for p in previous.values()):
            # only a day with files of an issued month needs the hashes before deciding
            hashes = {rel: future.result() for rel, future in hashing.items()}
            readable = {e.rel for e in entries if e.reason is None}
            decisions = {d.rel: d for d in decide(con, day, hashes, readable, issued, previous)}
        rejudge = set() if reread else {rel for _, rel in files_to_reread(con, day)}
        unchanged = set() if reread else {
            e.rel for e in entries
            if e.reason is None and e.rel not in decisions and e.rel not in rejudge and e.rel in known
            and known[e.rel][3] not in (*ROWS_KEPT, "added_after_issue") and hashing[e.rel].result() == known[e.rel][2]}
        files = _plan([e for e in entries if e.rel not in unchanged], decisions, stamps)
        removed = sorted(set(known) - {e.rel for e in entries} - set(decisions))
        for file in files:
            if file.rel in hashing and file.status not in ROWS_KEPT:
                file.content_hash = hashing[file.rel].result()
        restamped = [(stamps[rel], day, rel) for rel in unchanged if known[rel][1] != stamps[rel]]
        if restamped:  # touched (or from before modification times were kept) but the same content
            con.executemany("UPDATE raw.ingest_files SET modified_ns = ? WHERE landing_date = ? AND source_file = ?", restamped)
        if not removed and all(_same(file, known) for file in files):
            return summarize_day(con, day)  # nothing new in this folder
        con.execute(STAGE_DDL)
        try:
            _stage_files(con, files, event_rules.timestamp_literal(latest_allowed(day, late_tolerance_hours)))
            con.execute("BEGIN TRANSACTION")
            try:
                _replace_files(con, day, files, removed)
                if decisions or previous:
                    record_changes(con, day, list(decisions.values()), issued)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        finally:
            con.execute("DROP TABLE IF EXISTS ingest_lines")
    return summarize_day(con, day)


def _same(file: "_File", known: dict) -> bool:
    """A file set aside unread (hidden, nested...) whose record already says so: nothing to redo."""
    size, modified, _, status = known.get(file.rel, (None, None, None, None))
    return (file.status not in ("ok", *ROWS_KEPT) and file.entry is not None and file.entry.reason is not None
            and (status, size, modified) == (file.status, file.entry.size, file.modified_ns))


def files_to_reread(con: duckdb.DuckDBPyConnection, day: date | None = None) -> set[tuple[date, str]]:
    """(landing day, file) of the files to read again although their content is the same, on `day`
    or every day: the catalog changed since (a quarantined line names an account or metric the
    catalog has now, or a loaded row one it no longer has), or, on one day, their rows no longer add
    up to the lines read (the warehouse was damaged; the accounting of every day at once would cost
    a pass over every event, so only a day's ingest looks)."""
    on_day = "landing_date = $day" if day else "true"
    damaged = ("UNION SELECT landing_date, source_file FROM raw.ingest_accounting WHERE landing_date = $day "
               "AND file_status = 'ok' AND lines_read <> loaded + duplicates + quarantined") if day else ""
    return set(con.execute(f"""
        SELECT landing_date, source_file FROM raw.usage_quarantine
        WHERE {on_day} AND (
              reason = 'unknown_account' AND trim(json_extract_string(raw_text, '$.account_id')) IN (SELECT account_id FROM catalog.accounts)
           OR reason = 'unknown_metric' AND trim(json_extract_string(raw_text, '$.metric')) IN (SELECT metric_code FROM catalog.metrics))
        UNION
        SELECT landing_date, source_file FROM raw.usage_events
        WHERE {on_day} AND (account_id NOT IN (SELECT account_id FROM catalog.accounts)
                            OR metric NOT IN (SELECT metric_code FROM catalog.metrics))
        {damaged}
    """, {"day": day} if day else {}).fetchall())


def _plan(entries: list[LandedEntry], decisions: dict[str, FileDecision], stamps: dict[str, int]) -> list[_File]:
    files = []
    for entry in entries:
        decision = decisions.get(entry.rel)
        if decision is None:
            files.append(_File(entry, entry.rel, entry.reason or "ok", entry.detail, modified_ns=stamps.get(entry.rel)))
        elif decision.status not in ROWS_KEPT:
            files.append(_File(entry, entry.rel, decision.status, _issued_detail(decision), modified_ns=stamps.get(entry.rel)))
    # Billed files that changed or went away keep their rows and their row in ingest_files.
    files += [_File(None, d.rel, d.status, _issued_detail(d)) for d in decisions.values() if d.status in ROWS_KEPT]
    return files


def _issued_detail(decision: FileDecision) -> str:
    what = {"changed_after_issue": "changed after", "deleted_after_issue": "deleted after",
            "added_after_issue": "landed in a day of"}[decision.status]
    kept = "its billed rows are kept" if decision.status in ROWS_KEPT else "it is not read"
    state = "waiting for acknowledgement" if decision.change else "acknowledged"
    return (f"{what} issued {', '.join(decision.issued_periods)}: {kept} ({state}; current sha256 "
            f"{(decision.current_hash or 'none: file gone')[:16]})")


def _stage_files(con: duckdb.DuckDBPyConnection, files: list[_File], latest: str) -> None:
    """Judge every line of every file to read into ingest_lines; count the lines of files set aside.

    Lines carry the file's position in the list rather than its name: a number per line is
    cheaper to keep than a string per line.
    """
    for file_no, file in enumerate(files, start=1):
        if file.status == "ok":
            def stage(fields_sql: str, file_no: int = file_no) -> None:
                con.execute(f"INSERT INTO ingest_lines SELECT {file_no}, * FROM ({event_rules.judge_sql(fields_sql, latest)})")
            try:
                stage_file(con, file.entry.path, stage)
            except FileFault as fault:
                file.status, file.detail = fault.reason, fault.detail
        if file.status not in ("ok", *ROWS_KEPT) and file.entry is not None and not file.entry.is_folder:
            file.lines, file.blank = count_lines(con, file.entry.path, csv_header=file.status != "no_header")
    # Blank lines carry no event; they are counted apart so line numbers still match the file.
    for file_no, read, blank in con.execute(f"""
            SELECT file_no, count(*) FILTER (WHERE reason IS DISTINCT FROM '{BLANK}'), count(*) FILTER (WHERE reason = '{BLANK}')
            FROM ingest_lines GROUP BY ALL""").fetchall():
        files[file_no - 1].lines, files[file_no - 1].blank = read, blank


def _replace_files(con: duckdb.DuckDBPyConnection, day: date, files: list[_File], removed: list[str]) -> None:
    """Replace the rows of the files read (and set aside), drop those of the files removed, keep
    every other file's rows, and log the load with the (usage day, account) pairs it touched."""
    names = [file.rel for file in files]  # by file_no
    kept = [file.rel for file in files if file.status in ROWS_KEPT]
    replaced = [file.rel for file in files if file.status not in ROWS_KEPT] + removed
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    first_seen = dict(con.execute("SELECT source_file, coalesce(first_seen_at, ingested_at) FROM raw.ingest_files "
                                  "WHERE landing_date = ?", [day]).fetchall())
    params = {"day": day, "replaced": replaced}
    # Event ids repeated within what was read, or with any row staying in the warehouse; only these
    # need first-seen ordering (see the DDL).
    con.execute("""
        INSERT INTO raw.repeated_event_ids
        SELECT event_id FROM ingest_lines WHERE reason IS NULL GROUP BY event_id HAVING count(*) > 1
        UNION
        SELECT DISTINCT o.event_id FROM raw.usage_events o
        SEMI JOIN (SELECT event_id FROM ingest_lines WHERE reason IS NULL) d ON o.event_id = d.event_id
        WHERE NOT (o.landing_date = $day AND list_contains($replaced, o.source_file))
        ON CONFLICT DO NOTHING
    """, params)
    if replaced:
        [(load_id,)] = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM raw.ingest_loads").fetchall()
        con.execute("INSERT INTO raw.ingest_loads VALUES (?, ?, ?, ?, ?)",
                    [load_id, day, sum(f.status == "ok" for f in files), len(removed), now])
        # The rows going, the rows coming, and every other copy of their event ids (which copy is
        # the first landing may change).
        con.execute("""
            INSERT INTO raw.usage_changes
            WITH going AS (
                SELECT event_id, occurred_at, account_id FROM raw.usage_events
                WHERE landing_date = $day AND list_contains($replaced, source_file)
            ), coming AS (
                SELECT event_id, occurred_at, account_id FROM ingest_lines WHERE reason IS NULL
            ), repeated AS (
                SELECT event_id FROM (SELECT event_id FROM going UNION ALL SELECT event_id FROM coming) ids
                SEMI JOIN raw.repeated_event_ids r USING (event_id)
            )
            SELECT DISTINCT $load, occurred_at::DATE, account_id FROM (
                SELECT occurred_at, account_id FROM going
                UNION ALL SELECT occurred_at, account_id FROM coming
                UNION ALL SELECT occurred_at, account_id FROM raw.usage_events WHERE event_id IN (SELECT event_id FROM repeated)
            )
        """, {**params, "load": load_id})
    for table in ("usage_events", "usage_quarantine", "ingest_files"):
        con.execute(f"DELETE FROM raw.{table} WHERE landing_date = $day AND list_contains($replaced, source_file)", params)
    con.execute("""
        UPDATE raw.ingest_files SET file_status = f.status, detail = f.detail
        FROM (SELECT unnest(?) AS source_file, unnest(?) AS status, unnest(?) AS detail) f
        WHERE ingest_files.landing_date = ? AND ingest_files.source_file = f.source_file
    """, [kept, [f.status for f in files if f.rel in kept], [f.detail for f in files if f.rel in kept], day])
    con.execute(f"""
        INSERT INTO raw.usage_events
        SELECT event_id, account_id, metric, quantity, occurred_at, user_id, endpoint, request_id, properties::JSON,
               {CONTENT_HASH}, $day, $files[file_no], line_number, $now
        FROM ingest_lines WHERE reason IS NULL
    """, {"day": day, "files": names, "now": now})
    con.execute(f"""
        INSERT INTO raw.usage_quarantine
        SELECT $day, $files[file_no], line_number, raw_text, reason, detail, event_id, $now
        FROM ingest_lines WHERE reason IS NOT NULL AND reason <> '{BLANK}'
    """, {"day": day, "files": names, "now": now})
    set_aside = [f for f in files if f.status not in ("ok", *ROWS_KEPT)]
    if set_aside:
        con.executemany("INSERT INTO raw.usage_quarantine VALUES (?, ?, NULL, NULL, ?, ?, NULL, ?)",
                        [(day, f.rel, f.status, f.detail, now) for f in set_aside])
    rows = [(day, f.rel, f.entry.size, f.lines, f.blank, f.status, now, f.content_hash, f.detail,
             first_seen.get(f.rel, now), f.modified_ns)
            for f in files if f.status not in ROWS_KEPT]
    if rows:
        con.executemany("INSERT INTO raw.ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

def record_landing_problems(con: duckdb.DuckDBPyConnection, landing_usage: Path, first: date, last: date) -> list[LandedEntry]:
    """List what lies under landing/usage outside the day folders to ingest, replacing the last list."""
    ensure_schema(con)
    entries = outside_day_folders(landing_usage, first, last)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM raw.landing_problems")
        if entries:
            con.executemany("INSERT INTO raw.landing_problems VALUES (?, ?, ?, ?, ?)",
                            [(e.rel, e.size, e.reason, e.detail, now) for e in entries])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return entries


def summarize_day(con: duckdb.DuckDBPyConnection, day: date) -> DaySummary:
    [(files, size, read, loaded, dups, quarantined)] = con.execute("""
        SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(lines_read), 0), coalesce(sum(loaded), 0),
               coalesce(sum(duplicates), 0), coalesce(sum(quarantined), 0)
        FROM raw.ingest_accounting WHERE landing_date = ?
    """, [day]).fetchall()
    by_reason = dict(con.execute("SELECT reason, count(*) FROM raw.quarantine WHERE landing_date = ? GROUP BY ALL ORDER BY ALL",
                                 [day]).fetchall())
    [(accounts, first, last)] = con.execute("""
        SELECT count(DISTINCT account_id), min(occurred_at)::VARCHAR, max(occurred_at)::VARCHAR
        FROM raw.usage_events_loaded WHERE landing_date = ?
    """, [day]).fetchall()
    not_read = dict(con.execute("SELECT source_file, file_status FROM raw.ingest_files WHERE landing_date = ? "
                                "AND file_status <> 'ok' ORDER BY ALL", [day]).fetchall())
    return DaySummary(day, files, int(size), int(read), int(loaded), int(dups), int(quarantined), by_reason,
                      accounts, first, last, not_read)
