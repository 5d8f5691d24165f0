"""Landing one day of usage files into the warehouse, in SQL, with every line accounted for.

Each landed line ends in exactly one place:
- `raw.usage_events`: every valid row of the day (re-deliveries included), with a content hash;
- `raw.usage_quarantine`: lines (or whole files) that break the raw event contract, with the reason.
Which valid row counts is decided across all days by the views below (first landed wins, ordered by
landing day, file and line), so the result never depends on the order days were ingested in, and
re-ingesting a day only ever deletes and rewrites that day's rows.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from billing_pipeline.lib.ingest.landed_files import file_fault, file_lines_sql, unreadable_by_look

RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"

DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw.usage_events (
    event_id VARCHAR NOT NULL, account_id VARCHAR NOT NULL, metric VARCHAR NOT NULL,
    quantity DECIMAL(18,6) NOT NULL, occurred_at TIMESTAMP NOT NULL,
    user_id VARCHAR, endpoint VARCHAR, request_id VARCHAR, properties JSON,
    content_hash UBIGINT NOT NULL, landing_date DATE NOT NULL, source_file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS raw.usage_quarantine (
    landing_date DATE NOT NULL, source_file VARCHAR NOT NULL, line_number BIGINT,
    raw_text VARCHAR, reason VARCHAR NOT NULL, detail VARCHAR, event_id VARCHAR, quarantined_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS raw.ingest_files (
    landing_date DATE NOT NULL, source_file VARCHAR NOT NULL, bytes BIGINT NOT NULL, lines_read BIGINT NOT NULL,
    blank_lines BIGINT NOT NULL, file_status VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL
);
-- Event ids seen more than once (within a day or across days). Only these need the ordering
-- window below; every other event is trivially first-seen. Entries are never wrong to keep.
CREATE TABLE IF NOT EXISTS raw.repeated_event_ids (event_id VARCHAR PRIMARY KEY);

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
FROM raw.usage_event_status WHERE status = 'conflict';

CREATE OR REPLACE VIEW raw.ingest_accounting AS
WITH per_line AS (
    SELECT landing_date, source_file, status, count(*) AS n FROM (
        SELECT landing_date, source_file, 'loaded' AS status FROM raw.usage_events e
        ANTI JOIN raw.repeated_event_ids r ON e.event_id = r.event_id
        UNION ALL SELECT landing_date, source_file, status FROM raw.usage_event_status
        UNION ALL SELECT landing_date, source_file, 'quarantined' FROM raw.usage_quarantine WHERE line_number IS NOT NULL
    ) GROUP BY ALL
)
SELECT f.landing_date, f.source_file, f.bytes, f.lines_read, f.blank_lines, f.file_status,
       coalesce(sum(n) FILTER (WHERE status = 'loaded'), 0) AS loaded,
       coalesce(sum(n) FILTER (WHERE status = 'duplicate'), 0) AS duplicates,
       coalesce(sum(n) FILTER (WHERE status IN ('conflict', 'quarantined')), 0) AS quarantined
FROM raw.ingest_files f LEFT JOIN per_line p USING (landing_date, source_file)
GROUP BY ALL;
"""


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


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    # Re-running the DDL costs a noticeable share of a day's ingest, so it runs only when it changed.
    version = hashlib.sha256(DDL.encode()).hexdigest()[:16]
    current = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'ingest_files'").fetchall()
    if current != [(version,)]:
        con.execute(DDL)
        con.execute(f"COMMENT ON TABLE raw.ingest_files IS '{version}'")


# Each line's fields typed and judged once, into a temporary table the day's inserts then split.
STAGE_DDL = """
CREATE OR REPLACE TEMP TABLE ingest_lines (
    file_no USMALLINT, line_number BIGINT, event_id VARCHAR, account_id VARCHAR, metric VARCHAR,
    quantity DECIMAL(18,6), occurred_at TIMESTAMP, user_id VARCHAR, endpoint VARCHAR, request_id VARCHAR,
    properties VARCHAR, reason VARCHAR, detail VARCHAR, raw_text VARCHAR
)
"""

BLANK = "blank_line"

JUDGE = f"""
WITH parsed AS ({{parsed}}),
checked AS (
    SELECT p.*,
           CASE WHEN quantity_json NOT LIKE '"%'
                THEN coalesce(TRY_CAST(quantity_json AS DECIMAL(18,6)), TRY_CAST(TRY_CAST(quantity_json AS DOUBLE) AS DECIMAL(18,6)))
           END AS quantity_value,
           CASE WHEN regexp_matches(occurred_at_text, '{RFC3339}')
                THEN TRY_CAST(TRY_CAST(occurred_at_text AS TIMESTAMPTZ) AS TIMESTAMP) END AS occurred_utc
    FROM parsed p
),
judged AS (
    SELECT c.*,
           CASE
             WHEN c.parse_error IS NOT NULL THEN c.parse_error
             WHEN c.event_id IS NULL OR c.account_id IS NULL OR c.metric IS NULL OR c.occurred_at_text IS NULL THEN 'missing_field'
             WHEN quantity_json IS NOT NULL AND quantity_json <> 'null'
                  AND (quantity_value IS NULL OR quantity_value < 0) THEN 'invalid_quantity'
             WHEN occurred_utc IS NULL THEN 'invalid_timestamp'
             WHEN properties_json IS NOT NULL AND properties_json <> 'null'
                  AND NOT (json_valid(properties_json) AND (starts_with(properties_json, '{{') OR json_type(properties_json) = 'OBJECT'))
                  THEN 'invalid_properties'
             -- IN (subquery) builds its hash table on the catalog side, never on the day's lines.
             WHEN account_id NOT IN (SELECT account_id FROM catalog.accounts) THEN 'unknown_account'
             WHEN metric NOT IN (SELECT metric_code FROM catalog.metrics) THEN 'unknown_metric'
           END AS reason
    FROM checked c
)
"""

DETAIL = """
CASE reason
  WHEN 'malformed_json' THEN 'line is not valid JSON'
  WHEN 'not_an_object' THEN 'line is JSON but not an object'
  WHEN 'missing_field' THEN 'required field missing: ' || concat_ws(', ',
        CASE WHEN event_id IS NULL THEN 'event_id' END, CASE WHEN account_id IS NULL THEN 'account_id' END,
        CASE WHEN metric IS NULL THEN 'metric' END, CASE WHEN occurred_at_text IS NULL THEN 'occurred_at' END)
  WHEN 'invalid_quantity' THEN 'quantity ' || quantity_json || ' is not a finite number >= 0 (up to 12 digits before the point)'
  WHEN 'invalid_timestamp' THEN 'occurred_at ' || to_json(occurred_at_text)::VARCHAR || ' is not an RFC 3339 timestamp with an offset'
  WHEN 'invalid_properties' THEN 'properties is not a JSON object'
  WHEN 'unknown_account' THEN 'account_id ' || account_id || ' is not in accounts.csv'
  WHEN 'unknown_metric' THEN 'metric ' || metric || ' is not a metric code in plans.yaml'
END
"""


def _stage_file(con: duckdb.DuckDBPyConnection, path: Path, file_no: int) -> None:
    """Judge every line of one file into ingest_lines; raises (staging nothing) if the file is unreadable.

    Lines carry the file's position in the day's list rather than its name: a number per line is
    cheaper to keep than a string per line.
    """
    con.execute("INSERT INTO ingest_lines " + JUDGE.replace("{parsed}", file_lines_sql(con, path)) + f"""
        SELECT {file_no}, line_number, event_id, account_id, metric, coalesce(quantity_value, 1), occurred_utc,
               user_id, endpoint, request_id, CASE WHEN properties_json <> 'null' THEN properties_json END,
               reason, {DETAIL}, CASE WHEN reason IS NOT NULL THEN raw_text END
        FROM judged
    """)


def ingest_day(con: duckdb.DuckDBPyConnection, landing_usage: Path, day: date) -> DaySummary:
    """Replace everything landed for `day` with what its folder holds now."""
    ensure_schema(con)
    folder = landing_usage / day.isoformat()
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []
    con.execute(STAGE_DDL)
    try:
        file_rows, file_faults = _stage_files(con, files, day)
        con.execute("BEGIN TRANSACTION")
        try:
            _replace_day(con, day, file_rows, file_faults)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute("DROP TABLE IF EXISTS ingest_lines")
    return summarize_day(con, day)


def _stage_files(con: duckdb.DuckDBPyConnection, files: list[Path], day: date) -> tuple[list[tuple], list[tuple]]:
    """Stage every readable file; return the day's ingest_files rows and its whole-file faults."""
    statuses = {}
    for file_no, path in enumerate(files, start=1):
        rel = f"{day.isoformat()}/{path.name}"
        size = path.stat().st_size
        status, detail = unreadable_by_look(path, size)
        if status is None:
            try:
                _stage_file(con, path, file_no)
                status = "ok"
            except duckdb.Error as error:
                status, detail = file_fault(error)
        statuses[path] = (rel, size, status, detail)
    # Blank lines carry no event; they are counted apart so line numbers still match the file.
    counts = {files[file_no - 1]: (read, blank) for file_no, read, blank in con.execute(f"""
        SELECT file_no, count(*) FILTER (WHERE reason IS DISTINCT FROM '{BLANK}'), count(*) FILTER (WHERE reason = '{BLANK}')
        FROM ingest_lines GROUP BY ALL""").fetchall()}
    file_rows = [(day, rel, size, *counts.get(path, (0, 0)), status) for path, (rel, size, status, _) in statuses.items()]
    file_faults = [(day, rel, status, detail) for rel, _, status, detail in statuses.values() if status != "ok"]
    return file_rows, file_faults


def _replace_day(con: duckdb.DuckDBPyConnection, day: date, file_rows: list[tuple], file_faults: list[tuple]) -> None:
    files = [rel for _, rel, *_ in file_rows]  # by file_no
    for table in ("usage_events", "usage_quarantine", "ingest_files"):
        con.execute(f"DELETE FROM raw.{table} WHERE landing_date = ?", [day])
    con.execute("""
        INSERT INTO raw.usage_events
        SELECT event_id, account_id, metric, quantity, occurred_at, user_id, endpoint, request_id, properties::JSON,
               hash(account_id, metric, quantity, occurred_at, user_id, endpoint, request_id, properties),
               $day, $files[file_no], line_number, now()::TIMESTAMP
        FROM ingest_lines WHERE reason IS NULL
    """, {"day": day, "files": files})
    con.execute(f"""
        INSERT INTO raw.usage_quarantine
        SELECT $day, $files[file_no], line_number, raw_text, reason, detail, event_id, now()::TIMESTAMP
        FROM ingest_lines WHERE reason IS NOT NULL AND reason <> '{BLANK}'
    """, {"day": day, "files": files})
    if file_faults:
        con.executemany("INSERT INTO raw.usage_quarantine VALUES (?, ?, NULL, NULL, ?, ?, NULL, now()::TIMESTAMP)", file_faults)
    if file_rows:
        con.executemany("INSERT INTO raw.ingest_files VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)", file_rows)
    # Event ids repeated within the day or across days; only these need first-seen ordering (see the DDL).
    con.execute("""
        INSERT INTO raw.repeated_event_ids
        SELECT event_id FROM ingest_lines WHERE reason IS NULL GROUP BY event_id HAVING count(*) > 1
        UNION
        SELECT DISTINCT o.event_id FROM raw.usage_events o
        SEMI JOIN (SELECT event_id FROM ingest_lines WHERE reason IS NULL) d ON o.event_id = d.event_id
        WHERE o.landing_date <> $day
        ON CONFLICT DO NOTHING
    """, {"day": day})


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
    return DaySummary(day, files, int(size), int(read), int(loaded), int(dups), int(quarantined), by_reason,
                      accounts, first, last)
