"""Landed usage files as SQL relations of uniform, still-untyped event fields, one row per line.

Every reader yields: line_number, raw_text, parse_error (blank_line | malformed_json | not_an_object),
event_id, account_id, metric, quantity_json, occurred_at_text, user_id, endpoint, request_id,
properties_json. Judging those fields against the raw event contract is ingest.py's job.
"""

from pathlib import Path

import duckdb

LINE_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
READABLE_SUFFIXES = (*LINE_SUFFIXES, ".csv", ".csv.gz", ".parquet")
EVENT_FIELDS = ["event_id", "account_id", "metric", "quantity", "occurred_at", "user_id", "endpoint", "request_id", "properties"]
# quantity and properties stay JSON text here so a wrong type is a quarantine reason, not a read error.
JSON_SCHEMA = ('{"event_id":"VARCHAR","account_id":"VARCHAR","metric":"VARCHAR","quantity":"JSON","occurred_at":"VARCHAR",'
               '"user_id":"VARCHAR","endpoint":"VARCHAR","request_id":"VARCHAR","properties":"JSON"}')
JSON_BLANKS = " \t\r\n"

FILE_FAULT_TEXT = {"unreadable_gzip": "gzip stream is damaged or truncated", "not_utf8": "file is not UTF-8 text",
                   "unreadable_parquet": "not a readable Parquet file", "unreadable_file": "file could not be read"}


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _sql_ident(name: str) -> str:
    return name.replace('"', '""')


def _line_reader(path: Path) -> str:
    # One VARCHAR column per physical line: NUL cannot appear in text, so no line is ever split.
    # WITH ORDINALITY numbers lines as the scan streams them, cheaper than a window over the file.
    return (f"read_csv('{_sql_text(str(path))}', columns={{'raw_text': 'VARCHAR'}}, delim='\\0', quote='', escape='', "
            "header=false, auto_detect=false, strict_mode=false, null_padding=true) WITH ORDINALITY")


def _ndjson_sql(path: Path) -> str:
    # json_valid before json_transform: the transform raises on malformed text. A valid JSON text is an
    # object exactly when its first non-blank character is '{', which spares a third parse (json_type).
    return f"""
        SELECT line_number, raw_text, parse_error,
               j.event_id, j.account_id, j.metric, j.quantity::VARCHAR AS quantity_json, j.occurred_at AS occurred_at_text,
               j.user_id, j.endpoint, j.request_id, j.properties::VARCHAR AS properties_json
        FROM (
            SELECT line_number, raw_text, parse_error,
                   CASE WHEN parse_error IS NULL THEN json_transform(raw_text, '{JSON_SCHEMA}') END AS j
            FROM (
                SELECT ordinality AS line_number, raw_text,
                       CASE WHEN raw_text IS NULL THEN 'blank_line'
                            WHEN json_valid(raw_text) THEN
                                 CASE WHEN NOT starts_with(raw_text, '{{') AND NOT starts_with(ltrim(raw_text, '{JSON_BLANKS}'), '{{')
                                      THEN 'not_an_object' END
                            WHEN trim(raw_text) = '' THEN 'blank_line'
                            ELSE 'malformed_json' END AS parse_error
                FROM {_line_reader(path)}
            )
        )"""


def _table_sql(con: duckdb.DuckDBPyConnection, reader_sql: str, first_line: int) -> str:
    """CSV and Parquet rows: same columns, typed as text; the row as JSON stands for its raw text."""
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader_sql}").fetchall()]
    row_json = "to_json(struct_pack(" + ", ".join(f'"{c}" := "{c}"' for c in (_sql_ident(c) for c in columns)) + "))::VARCHAR"
    pick = {f: (f'"{f}"::VARCHAR' if f in columns else "NULL::VARCHAR") for f in EVENT_FIELDS}
    # A CSV quantity is text: a number keeps its digits, anything else becomes a JSON string
    # (so it is refused as not a number), and blank means "not given".
    quantity = (f"CASE WHEN nullif(trim({pick['quantity']}), '') IS NULL THEN NULL "
                f"WHEN TRY_CAST({pick['quantity']} AS DOUBLE) IS NOT NULL THEN trim({pick['quantity']}) "
                f"ELSE to_json({pick['quantity']})::VARCHAR END")
    return f"""
        SELECT ordinality + {first_line - 1} AS line_number,
               {row_json} AS raw_text, NULL AS parse_error,
               nullif({pick['event_id']}, '') AS event_id, nullif({pick['account_id']}, '') AS account_id,
               nullif({pick['metric']}, '') AS metric, {quantity} AS quantity_json,
               nullif({pick['occurred_at']}, '') AS occurred_at_text, nullif({pick['user_id']}, '') AS user_id,
               nullif({pick['endpoint']}, '') AS endpoint, nullif({pick['request_id']}, '') AS request_id,
               nullif({pick['properties']}, '') AS properties_json
        FROM {reader_sql} WITH ORDINALITY"""


def file_lines_sql(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The file's lines as SQL (see the module docstring). Reading it raises if the file is unreadable."""
    name = path.name.lower()
    if name.endswith(LINE_SUFFIXES):
        return _ndjson_sql(path)
    if name.endswith((".csv", ".csv.gz")):
        return _table_sql(con, f"read_csv('{_sql_text(str(path))}', header=true, all_varchar=true, auto_detect=true)", 2)
    return _table_sql(con, f"read_parquet('{_sql_text(str(path))}')", 1)


def unreadable_by_look(path: Path, size: int) -> tuple[str | None, str | None]:
    if not path.name.lower().endswith(READABLE_SUFFIXES):
        return "unknown_extension", f"extension is not one of {', '.join(READABLE_SUFFIXES)}"
    if size == 0:
        return "empty_file", "file is empty"
    return None, None


def file_fault(error: Exception) -> tuple[str, str]:
    """The quarantine reason and detail for a file DuckDB could not read."""
    text = str(error).lower()
    if "gzip" in text:
        reason = "unreadable_gzip"
    elif "unicode" in text or "utf-8" in text or "utf8" in text:
        reason = "not_utf8"
    elif "parquet" in text or "magic" in text:
        reason = "unreadable_parquet"
    else:
        reason = "unreadable_file"
    return reason, f"{FILE_FAULT_TEXT[reason]}: {str(error).splitlines()[0][:400]}"
