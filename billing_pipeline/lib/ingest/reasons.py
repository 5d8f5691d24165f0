"""Every reason ingestion sets something aside for, what it applies to, and what it means: the one
list the quarantine report, the landing inventory and the README follow."""

from dataclasses import dataclass

from billing_pipeline.lib.ingest.event_rules import QUANTITY_INTEGER_DIGITS, QUANTITY_PLACES


@dataclass(frozen=True)
class Reason:
    scope: str  # line: one line or row, the rest of its file loads | file: a file set aside whole | landing: outside the day folders
    label: str


REASONS = {
    "malformed_json": Reason("line", "line is not valid JSON"),
    "not_an_object": Reason("line", "line is JSON but not an object"),
    "not_utf8": Reason("line", "line is not UTF-8 text"),
    "ragged_row": Reason("line", "CSV row with a different number of fields than the header"),
    "duplicate_key": Reason("line", "a key appears twice in the event or its properties: ambiguous"),
    "missing_field": Reason("line", "event_id, account_id, metric or occurred_at missing"),
    "invalid_quantity": Reason("line", f"quantity is not a number >= 0 with at most {QUANTITY_PLACES} decimal places "
                                       f"and {QUANTITY_INTEGER_DIGITS} digits before the point"),
    "invalid_timestamp": Reason("line", "occurred_at is not an RFC 3339 date-time with an offset"),
    "occurred_after_landing": Reason("line", "occurred after its landing day ended plus the late tolerance"),
    "invalid_properties": Reason("line", "properties is not a JSON object"),
    "unknown_account": Reason("line", "account_id is not in the catalog"),
    "unknown_metric": Reason("line", "metric is not in the catalog"),
    "conflicting_event_id": Reason("line", "event_id landed before with other content (the first landing counts)"),
    "empty_file": Reason("file", "file is empty"),
    "unknown_extension": Reason("file", "not a usage file extension (.ndjson, .jsonl, .csv, optionally .gz, .parquet)"),
    "hidden_file": Reason("file", "hidden file (name starts with '.'), e.g. an upload in progress"),
    "nested_folder": Reason("file", "in a folder inside a day folder: only files directly in the day folder are read"),
    "no_header": Reason("file", "CSV file without a header row"),
    "unreadable_gzip": Reason("file", "gzip stream damaged or truncated: set aside whole, its readable lines counted"),
    "unreadable_parquet": Reason("file", "not a readable Parquet file"),
    "unreadable_file": Reason("file", "file could not be read"),
    "added_after_issue": Reason("file", "landed in a day of an issued month: not read (land it in today's folder)"),
    "not_a_day_folder": Reason("landing", "folder name is not a landing day (YYYY-MM-DD)"),
    "outside_partitions": Reason("landing", "landing day outside the pipeline's daily partitions"),
    "not_in_a_day_folder": Reason("landing", "file directly in landing/usage, not in a day folder"),
}


def label(reason: str) -> str:
    known = REASONS.get(reason)
    return known.label if known else reason


def scope(reason: str) -> str:
    known = REASONS.get(reason)
    return known.scope if known else "line"
