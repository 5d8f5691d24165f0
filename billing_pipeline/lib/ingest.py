"""Landing one day of usage files into the warehouse, in SQL, with every line accounted for.

Each landed line ends in exactly one place:
- `raw.usage_events`: every valid row of the day (re-deliveries included), with a content hash;
- `raw.usage_quarantine`: lines (or whole files) that break the raw event contract, with the reason.
Which valid row counts is decided across all days by the views below (first landed wins, ordered by
landing day, file and line), so the result never depends on the order days were ingested in, and
re-ingesting a day only ever deletes and rewrites that day's rows.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

LINE_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
READABLE_SUFFIXES = (*LINE_SUFFIXES, ".csv", ".csv.gz", ".parquet")
EVENT_FIELDS = ["event_id", "account_id", "metric", "quantity", "occurred_at", "user_id", "endpoint", "request_id", "properties"]
# quantity and properties stay JSON text here so a wrong type is a quarantine reason, not a read error.
JSON_SCHEMA = ('{"event_id":"VARCHAR","account_id":"VARCHAR","metric":"VARCHAR","quantity":"JSON","occurred_at":"VARCHAR",'
               '"user_id":"VARCHAR","endpoint":"VARCHAR","request_id":"VARCHAR","properties":"JSON"}')
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
    con.execute(DDL)


def _line_reader(path: Path) -> str:
    # One VARCHAR column per physical line: NUL cannot appear in text, so no line is ever split.
    return (f"read_csv('{_sql_path(path)}', columns={{'raw_text': 'VARCHAR'}}, delim='\\0', quote='', escape='', "
            "header=false, auto_detect=false, strict_mode=false, null_padding=true)")


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _sql_path(path: Path) -> str:
    return _sql_text(str(path))


def _ndjson_sql(path: Path, rel: str) -> str:
    return f"""
        SELECT '{_sql_text(rel)}' AS source_file, line_number, raw_text,
               CASE WHEN NOT json_valid(raw_text) THEN 'malformed_json'
                    WHEN json_type(raw_text) <> 'OBJECT' THEN 'not_an_object' END AS parse_error,
               j.event_id, j.account_id, j.metric, j.quantity::VARCHAR AS quantity_json, j.occurred_at AS occurred_at_text,
               j.user_id, j.endpoint, j.request_id, j.properties::VARCHAR AS properties_json
        FROM (
            SELECT *, CASE WHEN json_valid(raw_text) AND json_type(raw_text) = 'OBJECT'
                           THEN json_transform(raw_text, '{JSON_SCHEMA}') END AS j
            FROM (SELECT row_number() OVER () AS line_number, raw_text FROM {_line_reader(path)})
            WHERE raw_text IS NOT NULL AND trim(raw_text) <> ''
        )"""


def _table_sql(con: duckdb.DuckDBPyConnection, reader_sql: str, rel: str, first_line: int) -> str:
    """CSV and Parquet rows: same columns, typed as text; the row as JSON stands for its raw text."""
    columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader_sql}").fetchall()}
    pick = {f: (f'"{f}"::VARCHAR' if f in columns else "NULL::VARCHAR") for f in EVENT_FIELDS}
    # A CSV quantity is text: a number keeps its digits, anything else becomes a JSON string
    # (so it is refused as not a number), and blank means "not given".
    quantity = (f"CASE WHEN nullif(trim({pick['quantity']}), '') IS NULL THEN NULL "
                f"WHEN TRY_CAST({pick['quantity']} AS DOUBLE) IS NOT NULL THEN trim({pick['quantity']}) "
                f"ELSE to_json({pick['quantity']})::VARCHAR END")
    return f"""
        SELECT '{_sql_text(rel)}' AS source_file, row_number() OVER () + {first_line - 1} AS line_number,
               to_json(t)::VARCHAR AS raw_text, NULL AS parse_error,
               nullif({pick['event_id']}, '') AS event_id, nullif({pick['account_id']}, '') AS account_id,
               nullif({pick['metric']}, '') AS metric, {quantity} AS quantity_json,
               nullif({pick['occurred_at']}, '') AS occurred_at_text, nullif({pick['user_id']}, '') AS user_id,
               nullif({pick['endpoint']}, '') AS endpoint, nullif({pick['request_id']}, '') AS request_id,
               nullif({pick['properties']}, '') AS properties_json
        FROM {reader_sql} t"""


def _file_sql(con: duckdb.DuckDBPyConnection, path: Path, rel: str) -> tuple[str, int, int]:
    """The file's rows as SQL, with its count of lines read and blank lines; raises if unreadable."""
    name = path.name.lower()
    if name.endswith(LINE_SUFFIXES):
        [(read, last)] = con.execute(f"""SELECT count(*) FILTER (WHERE raw_text IS NOT NULL AND trim(raw_text) <> ''), count(*)
                                     FROM {_line_reader(path)}""").fetchall()
        return _ndjson_sql(path, rel), read, last - read
    reader = (f"read_csv('{_sql_path(path)}', header=true, all_varchar=true, auto_detect=true)"
              if name.endswith((".csv", ".csv.gz")) else f"read_parquet('{_sql_path(path)}')")
    [(read,)] = con.execute(f"SELECT count(*) FROM {reader}").fetchall()
    return _table_sql(con, reader, rel, 2 if reader.startswith("read_csv") else 1), read, 0


def _unreadable_by_look(path: Path, size: int) -> tuple[str | None, str | None]:
    if not path.name.lower().endswith(READABLE_SUFFIXES):
        return "unknown_extension", f"extension is not one of {', '.join(READABLE_SUFFIXES)}"
    if size == 0:
        return "empty_file", "file is empty"
    return None, None


FILE_FAULT_TEXT = {"unreadable_gzip": "gzip stream is damaged or truncated", "not_utf8": "file is not UTF-8 text",
                   "unreadable_parquet": "not a readable Parquet file", "unreadable_file": "file could not be read"}


def _file_fault(error: Exception) -> str:
    text = str(error).lower()
    if "gzip" in text:
        return "unreadable_gzip"
    if "unicode" in text or "utf-8" in text or "utf8" in text:
        return "not_utf8"
    if "parquet" in text or "magic" in text:
        return "unreadable_parquet"
    return "unreadable_file"


JUDGE = f"""
WITH parsed AS ({{parsed}}),
checked AS (
    SELECT p.*,
           CASE WHEN TRY_CAST(quantity_json AS DOUBLE) IS NOT NULL AND quantity_json NOT LIKE '"%'
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
                  AND (NOT json_valid(properties_json) OR json_type(properties_json) <> 'OBJECT') THEN 'invalid_properties'
             WHEN a.known IS NULL THEN 'unknown_account'
             WHEN m.known IS NULL THEN 'unknown_metric'
           END AS reason
    FROM checked c
    LEFT JOIN (SELECT account_id, true AS known FROM catalog.accounts) a USING (account_id)
    LEFT JOIN (SELECT metric_code AS metric, true AS known FROM catalog.metrics) m USING (metric)
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


def ingest_day(con: duckdb.DuckDBPyConnection, landing_usage: Path, day: date) -> DaySummary:
    """Replace everything landed for `day` with what its folder holds now."""
    ensure_schema(con)
    folder = landing_usage / day.isoformat()
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []
    parts, file_rows, file_faults = [], [], []
    for path in files:
        rel = f"{day.isoformat()}/{path.name}"
        size = path.stat().st_size
        status, detail = _unreadable_by_look(path, size)
        read = blank = 0
        if status is None:
            try:
                sql, read, blank = _file_sql(con, path, rel)
                parts.append(sql)
                status = "ok"
            except duckdb.Error as error:
                status = _file_fault(error)
                detail = f"{FILE_FAULT_TEXT[status]}: {str(error).splitlines()[0][:400]}"
        if status != "ok":
            file_faults.append((rel, status, detail))
        file_rows.append((day, rel, size, read, blank, status))
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("usage_events", "usage_quarantine", "ingest_files"):
            con.execute(f"DELETE FROM raw.{table} WHERE landing_date = ?", [day])
        if parts:
            _insert_judged_lines(con, JUDGE.replace("{parsed}", " UNION ALL ".join(parts)), day)
        for rel, reason, detail in file_faults:
            con.execute("INSERT INTO raw.usage_quarantine VALUES (?, ?, NULL, NULL, ?, ?, NULL, now()::TIMESTAMP)",
                        [day, rel, reason, detail])
        # Blank lines carry no event; they are counted apart so line numbers still match the file.
        if file_rows:
            con.executemany("INSERT INTO raw.ingest_files VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)", file_rows)
        con.execute("""
            INSERT INTO raw.repeated_event_ids
            SELECT event_id FROM raw.usage_events WHERE landing_date = $day
            GROUP BY event_id HAVING count(*) > 1
            UNION
            SELECT DISTINCT o.event_id FROM raw.usage_events o
            SEMI JOIN (SELECT event_id FROM raw.usage_events WHERE landing_date = $day) d ON o.event_id = d.event_id
            WHERE o.landing_date <> $day
            ON CONFLICT DO NOTHING
        """, {"day": day})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return summarize_day(con, day)


def _insert_judged_lines(con: duckdb.DuckDBPyConnection, judge: str, day: date) -> None:
    """Valid rows into raw.usage_events, the others into the quarantine with their reason."""
    con.execute("INSERT INTO raw.usage_events " + judge + """
        SELECT event_id, account_id, metric, coalesce(quantity_value, 1), occurred_utc, user_id, endpoint, request_id,
               CASE WHEN properties_json <> 'null' THEN properties_json::JSON END,
               hash(account_id, metric, coalesce(quantity_value, 1), occurred_utc, user_id, endpoint, request_id,
                    CASE WHEN properties_json <> 'null' THEN properties_json::JSON::VARCHAR END),
               ?, source_file, line_number, now()::TIMESTAMP
        FROM judged WHERE reason IS NULL
    """, [day])
    con.execute("INSERT INTO raw.usage_quarantine " + judge + f"""
        SELECT ?, source_file, line_number, raw_text, reason, {DETAIL}, event_id, now()::TIMESTAMP
        FROM judged WHERE reason IS NOT NULL
    """, [day])


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
