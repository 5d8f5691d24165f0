"""The raw usage event contract as SQL: the one home of every rule a usage event is judged by.

Two steps, each a SELECT over any relation, so the same rules judge landed files and, later, events
posted over HTTP:
- `json_fields_sql(lines)` turns raw JSON lines, a relation of (line_number, raw_text, line_error),
  into event fields, still as text: event_id, account_id, metric, quantity_text (the number exactly
  as written), occurred_at_text, user_id, endpoint, request_id, properties_json, plus parse_error and
  duplicate_key. CSV and Parquet readers (landed_files.py) produce the same fields from columns.
- `judge_sql(fields, latest_allowed)` types each field and names the first rule a line breaks
  (`reason`, NULL when valid) with a readable `detail`.

Quantities are kept exactly as DECIMAL(38, 9), never rounded: the check reads the number's text,
because DuckDB's JSON functions hand real numbers back through a double. Timestamps follow RFC 3339,
normalised to UTC.
"""

import json
from datetime import datetime

import duckdb
from duckdb import sqltypes

QUANTITY_TYPE = "DECIMAL(38,9)"
QUANTITY_PLACES = 9  # fractional units (GB-hours, seconds of compute) need more than cents
QUANTITY_INTEGER_DIGITS = 20  # quantities are < 10^20

JSON_FIELDS = ('{"event_id":"VARCHAR","account_id":"VARCHAR","metric":"VARCHAR","quantity":"JSON",'
               '"occurred_at":"VARCHAR","user_id":"VARCHAR","endpoint":"VARCHAR","request_id":"VARCHAR",'
               '"properties":"JSON"}')
# The top-level keys of an event line as the contract lists them (JSON_FIELDS' order).
CONTRACT_KEYS = "[" + ", ".join(f"'{key}'" for key in json.loads(JSON_FIELDS)) + "]"
JSON_BLANKS = " \t\r\n"
# A JSON number, split into sign, integer digits, fraction digits and exponent.
NUMBER = r"^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$"
PLAIN_INTEGER = "0|[1-9][0-9]{0,19}"  # within the limits as written
# RFC 3339 date-time: T/Z in either case (the RFC's note allows a space for T); hours 00-23, second
# 60 only as a leap second (checked after the offset is applied), offsets up to 23:59.
RFC3339 = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
           r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
EXACT_NUMBER_FUNCTION = "ingest_json_number_text"


class _NumberText(str):
    """A JSON number kept as the text it was written with."""


def _json_number_text(raw_text: str, key: str) -> str | None:
    value = json.loads(raw_text, parse_int=_NumberText, parse_float=_NumberText).get(key)
    return str(value) if isinstance(value, _NumberText) else None


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Register what the rules need on this connection (once): the exact number reader used for the
    rare line where the number's text cannot be found by pattern (the key also appears nested)."""
    known = con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [EXACT_NUMBER_FUNCTION]).fetchall()
    if known == [(0,)]:
        try:
            con.create_function(EXACT_NUMBER_FUNCTION, _json_number_text, [sqltypes.VARCHAR] * 2, sqltypes.VARCHAR,
                                side_effects=False)
        except duckdb.CatalogException:
            # Another cursor of the same database registered it between the check and here: it is there.
            if con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?",
                           [EXACT_NUMBER_FUNCTION]).fetchall() == [(0,)]:
                raise


def json_fields_sql(lines: str) -> str:
    """Event fields of raw JSON lines; `lines` is a relation (or subquery) of (line_number, raw_text, line_error)."""
    # json_valid before json_transform: the transform raises on malformed text. A valid JSON text is
    # an object exactly when its first non-blank character is '{'.
    return f"""
        SELECT line_number, raw_text, parse_error,
               j.event_id, j.account_id, j.metric,
               -- An integer literal comes back digit for digit; any other number through a double,
               -- so its text is read from the line itself. (A JSON null comes back as SQL NULL.)
               CASE WHEN quantity_json IS NULL THEN NULL
                    WHEN regexp_full_match(quantity_json, '-?[0-9]+') THEN quantity_json
                    WHEN NOT regexp_full_match(quantity_json, '-?[0-9].*') THEN quantity_json
                    WHEN len(quantity_candidates) = 1 THEN quantity_candidates[1]
                    ELSE {EXACT_NUMBER_FUNCTION}(raw_text, 'quantity')
               END AS quantity_text,
               j.occurred_at AS occurred_at_text, j.user_id, j.endpoint, j.request_id,
               j.properties::VARCHAR AS properties_json,
               -- Counting distinct keys costs more than reading the line; a line with exactly the
               -- contract's keys in the contract's order (the usual line) has none repeated.
               -- (CASE, not OR: DuckDB would count them for every line.)
               CASE WHEN CASE WHEN keys = {CONTRACT_KEYS} THEN false ELSE len(keys) <> list_unique(keys) END
                    THEN list_filter(keys, lambda k: len(list_filter(keys, lambda x: x = k)) > 1)[1]
                    ELSE {properties_duplicate_sql('j.properties::VARCHAR')} END AS duplicate_key
        FROM (
            SELECT *, j.quantity::VARCHAR AS quantity_json,
                   CASE WHEN regexp_full_match(j.quantity::VARCHAR, '-?[0-9].*[.eE].*')
                        THEN regexp_extract_all(raw_text, '"quantity"\\s*:\\s*(-?[0-9][0-9.eE+-]*)', 1) END AS quantity_candidates
            FROM (
                SELECT line_number, raw_text, parse_error,
                       CASE WHEN parse_error IS NULL THEN json_transform(raw_text, '{JSON_FIELDS}') END AS j,
                       CASE WHEN parse_error IS NULL THEN json_keys(raw_text) END AS keys
                FROM (
                    SELECT line_number, raw_text,
                           CASE WHEN line_error IS NOT NULL THEN line_error
                                WHEN raw_text IS NULL THEN 'blank_line'
                                WHEN json_valid(raw_text) THEN
                                     CASE WHEN NOT starts_with(raw_text, '{{') AND NOT starts_with(ltrim(raw_text, '{JSON_BLANKS}'), '{{')
                                          THEN 'not_an_object' END
                                WHEN trim(raw_text, '{JSON_BLANKS}') = '' THEN 'blank_line'
                                ELSE 'malformed_json' END AS parse_error
                    FROM {lines}
                )
            )
        )"""


def properties_duplicate_sql(properties: str) -> str:
    """'properties' when the properties object (JSON text) repeats a key, else NULL."""
    # Nested CASE, not AND: DuckDB evaluates both sides of AND, and json_keys raises on invalid JSON.
    return (f"CASE WHEN starts_with({properties}, '{{') AND json_valid({properties}) THEN "
            f"CASE WHEN len(json_keys({properties})) <> list_unique(json_keys({properties})) THEN 'properties' END END")


def _quantity_columns() -> str:
    """From quantity_text: its parts, then the exact value's digits `core` and decimal places `places`
    (value = core x 10^-places), without going through any binary number."""
    return f"""
        SELECT *,
               CASE WHEN core = '' THEN 0 ELSE scale - (len(digits) - len(rtrim(digits, '0'))) END AS places,
               CASE WHEN core = '' THEN 0 ELSE len(core) - scale + (len(digits) - len(rtrim(digits, '0'))) END AS integer_digits
        FROM (
            SELECT *, ltrim(rtrim(digits, '0'), '0') AS core,
                   len(number.frac) - TRY_CAST(coalesce(nullif(number.exp, ''), '0') AS BIGINT) AS scale
            FROM (
                SELECT *, number.int || number.frac AS digits
                -- a plain integer (most quantities) is cast as it is; only other forms are taken apart
                FROM (SELECT *, CASE WHEN NOT regexp_full_match(quantity_text, '{PLAIN_INTEGER}')
                                     THEN regexp_extract(quantity_text, '{NUMBER}', ['sign', 'int', 'frac', 'exp']) END AS number
                      FROM fields)
            )
        )"""


def judge_sql(fields: str, latest_allowed: str) -> str:
    """Every row of `fields` with its typed values, the first rule it breaks (`reason`) and `detail`.

    `latest_allowed` is a SQL TIMESTAMP (UTC): events occurring after it are refused.
    """
    return f"""
    WITH fields AS (SELECT * REPLACE (nullif(properties_json, 'null') AS properties_json) FROM ({fields})),
    numbers AS ({_quantity_columns()}),
    stamped AS (
        SELECT *, rfc3339 AND substr(occurred_at_text, 18, 2) = '60' AS leap_second
        FROM (SELECT *, regexp_full_match(occurred_at_text, '{RFC3339}') AS rfc3339 FROM numbers)
    ),
    checked AS (
        SELECT s.*,
               CASE WHEN quantity_text IS NULL THEN 1::{QUANTITY_TYPE}
                    WHEN number IS NULL THEN quantity_text::{QUANTITY_TYPE}
                    WHEN number.int <> '' AND (number.sign = '' OR core = '') AND places <= {QUANTITY_PLACES}
                         AND integer_digits <= {QUANTITY_INTEGER_DIGITS}
                    THEN {_exact_decimal()} END AS quantity_value,
               -- a leap second is billed as the last microsecond before it, so it stays in its minute;
               -- timezone('UTC', ...), not a cast: a cast would use the session's time zone
               CASE WHEN rfc3339 THEN
                    timezone('UTC', TRY_CAST(CASE WHEN leap_second
                                                  THEN regexp_replace(upper(occurred_at_text), ':60(\\.[0-9]+)?', ':59.999999')
                                                  ELSE upper(occurred_at_text) END AS TIMESTAMPTZ)) END AS occurred_utc
        FROM stamped s
    ),
    judged AS (
        SELECT c.*,
               CASE
                 WHEN c.parse_error IS NOT NULL THEN c.parse_error
                 WHEN duplicate_key IS NOT NULL THEN 'duplicate_key'
                 WHEN c.event_id IS NULL OR c.account_id IS NULL OR c.metric IS NULL OR c.occurred_at_text IS NULL THEN 'missing_field'
                 WHEN quantity_text IS NOT NULL AND quantity_value IS NULL THEN 'invalid_quantity'
                 WHEN occurred_utc IS NULL OR (leap_second AND strftime(occurred_utc, '%H:%M:%S') <> '23:59:59') THEN 'invalid_timestamp'
                 WHEN occurred_utc > {latest_allowed} THEN 'occurred_after_landing'
                 -- valid JSON is an object exactly when it starts with '{{' (readers hand it over trimmed)
                 WHEN properties_json IS NOT NULL AND NOT (json_valid(properties_json) AND starts_with(properties_json, '{{'))
                      THEN 'invalid_properties'
                 -- IN (subquery) builds its hash table on the catalog side, never on the lines.
                 WHEN account_id NOT IN (SELECT account_id FROM catalog.accounts) THEN 'unknown_account'
                 WHEN metric NOT IN (SELECT metric_code FROM catalog.metrics) THEN 'unknown_metric'
               END AS reason
        FROM checked c
    )
    SELECT line_number, event_id, account_id, metric, coalesce(quantity_value, 1) AS quantity, occurred_utc AS occurred_at,
           user_id, endpoint, request_id, properties_json AS properties, reason,
           {_detail(latest_allowed)} AS detail,
           CASE WHEN reason IS NOT NULL THEN raw_text END AS raw_text
    FROM judged"""


def _exact_decimal() -> str:
    """The value as a plain decimal string (at most 20 + 9 digits), which DuckDB casts exactly."""
    return f"""CAST(CASE WHEN core = '' THEN '0'
                    WHEN places <= 0 THEN core || repeat('0', (-places)::BIGINT)
                    WHEN len(core) > places THEN left(core, len(core) - places) || '.' || right(core, places::BIGINT)
                    ELSE '0.' || repeat('0', (places - len(core))::BIGINT) || core END AS {QUANTITY_TYPE})"""


def _detail(latest_allowed: str) -> str:
    return f"""
    CASE reason
      WHEN 'malformed_json' THEN 'line is not valid JSON'
      WHEN 'not_an_object' THEN 'line is JSON but not an object'
      WHEN 'not_utf8' THEN 'line is not UTF-8 text (raw text shows the bad bytes as U+FFFD)'
      WHEN 'ragged_row' THEN 'row has a different number of fields than the header'
      WHEN 'duplicate_key' THEN CASE WHEN duplicate_key = 'properties' THEN 'a key appears twice in properties'
                                     ELSE 'key "' || duplicate_key || '" appears more than once' END
                                || ': which value counts is ambiguous'
      WHEN 'missing_field' THEN 'required field missing: ' || concat_ws(', ',
            CASE WHEN event_id IS NULL THEN 'event_id' END, CASE WHEN account_id IS NULL THEN 'account_id' END,
            CASE WHEN metric IS NULL THEN 'metric' END, CASE WHEN occurred_at_text IS NULL THEN 'occurred_at' END)
      WHEN 'invalid_quantity' THEN 'quantity ' || quantity_text || CASE
            WHEN number.int = '' THEN ' is not a number'
            WHEN number.sign = '-' THEN ' is negative'
            WHEN places IS NULL AND number.exp LIKE '-%' OR places > {QUANTITY_PLACES}
                 THEN ' has more than {QUANTITY_PLACES} decimal places (kept exactly, never rounded)'
            ELSE ' is too large (at most {QUANTITY_INTEGER_DIGITS} digits before the point)' END
      WHEN 'invalid_timestamp' THEN 'occurred_at ' || to_json(occurred_at_text)::VARCHAR || CASE
            WHEN regexp_matches(occurred_at_text, '[Tt ]24:') THEN ' has hour 24 (RFC 3339 hours are 00-23)'
            WHEN leap_second AND occurred_utc IS NOT NULL THEN ' has second 60 outside a leap second (23:59:60 UTC)'
            WHEN rfc3339 THEN ' is not a date and time that exists'
            ELSE ' is not an RFC 3339 timestamp with an offset' END
      WHEN 'occurred_after_landing' THEN 'occurred_at ' || strftime(occurred_utc, '%Y-%m-%d %H:%M:%S') || ' UTC is later than '
            || strftime({latest_allowed}, '%Y-%m-%d %H:%M:%S') || ' UTC, the end of its landing day plus the late tolerance'
      WHEN 'invalid_properties' THEN 'properties is not a JSON object (in CSV and Parquet: JSON text, not a typed struct or map)'
      WHEN 'unknown_account' THEN 'account_id ' || account_id || ' is not in accounts.csv'
      WHEN 'unknown_metric' THEN 'metric ' || metric || ' is not a metric code in plans.yaml'
    END"""


def timestamp_literal(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"


def judge_json_lines(con: duckdb.DuckDBPyConnection, lines: str, latest_allowed: datetime) -> duckdb.DuckDBPyRelation:
    """Judge any relation of raw JSON lines (line_number, raw_text, line_error) by the contract:
    the entry point for events that do not come from a landed file."""
    prepare(con)
    return con.sql(judge_sql(json_fields_sql(lines), timestamp_literal(latest_allowed)))
