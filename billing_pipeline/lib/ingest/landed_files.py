"""One landed usage file as event fields, one row per line or row (the contract is in event_rules.py).

- NDJSON goes through DuckDB's line reader (one VARCHAR per physical line, no line size limit that a
  real log reaches). A file with a line that is not UTF-8 is read again line by line in Python, so
  that only the bad line is set aside.
- CSV is read by Python's csv module, so that a ragged row, a row that is not UTF-8 and a missing
  header each stay what they are (DuckDB's sniffer would take a first event for the header).
- Parquet rows come through DuckDB with their columns as text.
A file that cannot be read at all raises FileFault; `count_lines` then counts what can be counted.
"""

import csv
import gzip
import hashlib
import json
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from billing_pipeline.lib.ingest.event_rules import json_fields_sql, properties_duplicate_sql

LINE_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
CSV_SUFFIXES = (".csv", ".csv.gz")
READABLE_SUFFIXES = (*LINE_SUFFIXES, *CSV_SUFFIXES, ".parquet")
EVENT_FIELDS = ["event_id", "account_id", "metric", "quantity", "occurred_at", "user_id", "endpoint", "request_id", "properties"]
REQUIRED_FIELDS = {"event_id", "account_id", "metric", "occurred_at"}
MAX_LINE_BYTES = 1 << 30  # DuckDB's default (2 MB) set aside whole files over one long line
FIELD_COLUMNS = ["line_number", "raw_text", "parse_error", "event_id", "account_id", "metric", "quantity_text",
                 "occurred_at_text", "user_id", "endpoint", "request_id", "properties_json", "duplicate_key"]


class FileFault(Exception):
    """The file cannot be read as a whole: reason (a quarantine reason) and a readable detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else path.open("rb")


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _line_reader_sql(path: Path) -> str:
    # One VARCHAR column per physical line: NUL cannot appear in text, so no line is ever split.
    # WITH ORDINALITY numbers lines as the scan streams them, cheaper than a window over the file.
    return (f"(SELECT ordinality AS line_number, raw_text, NULL::VARCHAR AS line_error "
            f"FROM read_csv('{_sql_text(str(path))}', columns={{'raw_text': 'VARCHAR'}}, delim='\\0', quote='', escape='', "
            f"header=false, auto_detect=false, strict_mode=false, null_padding=true, max_line_size={MAX_LINE_BYTES}) "
            "WITH ORDINALITY)")


def _physical_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without its newline, whether it was valid UTF-8), for the slow paths."""
    with _open(path) as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.rstrip(b"\r\n")
            try:
                yield number, raw.decode("utf-8"), True
            except UnicodeDecodeError:
                yield number, raw.decode("utf-8", errors="replace"), False


def _python_lines(path: Path) -> pa.Table:
    numbers, texts, errors = [], [], []
    for number, text, utf8 in _physical_lines(path):
        numbers.append(number)
        texts.append(text or None)
        errors.append(None if utf8 else "not_utf8")
    return pa.table({"line_number": pa.array(numbers, pa.int64()), "raw_text": pa.array(texts, pa.string()),
                     "line_error": pa.array(errors, pa.string())})


def _csv_records(path: Path) -> Iterator[tuple[int, list[str], str, bool]]:
    """(first line number, fields, the record's text, whether all of it was UTF-8) for each CSV record."""
    consumed: list[tuple[int, str, bool]] = []

    def feed() -> Iterator[str]:
        for number, text, utf8 in _physical_lines(path):
            consumed.append((number, text, utf8))
            yield text + "\n"

    for fields in csv.reader(feed()):
        lines, consumed[:] = list(consumed), []
        yield lines[0][0], fields, "\n".join(text for _, text, _ in lines), all(utf8 for *_, utf8 in lines)


def _csv_fields(path: Path) -> pa.Table:
    columns: dict[str, list] = {name: [] for name in FIELD_COLUMNS}
    records = _csv_records(path)
    header = None
    for number, fields, text, utf8 in records:
        header = [name.strip().lstrip("\ufeff") for name in fields]
        break
    if header is None:
        raise FileFault("empty_file", "file holds no CSV header")
    if not REQUIRED_FIELDS & set(header):
        raise FileFault("no_header", f"first row {text[:200]!r} names none of the columns {', '.join(sorted(REQUIRED_FIELDS))}: "
                                     "a CSV file must start with a header row")
    position = {name: header.index(name) for name in EVENT_FIELDS if name in header}
    repeated = next((name for name in position if header.count(name) > 1), None)
    for number, fields, text, utf8 in records:
        if not utf8:
            error = "not_utf8"
        elif len(fields) <= 1 and not "".join(fields).strip():
            error = "blank_line"
        elif len(fields) != len(header):
            error = "ragged_row"
        else:
            error = None
        value = {name: (fields[i].strip() or None) if error is None else None for name, i in position.items()}
        columns["line_number"].append(number)
        columns["raw_text"].append(text if error else json.dumps(dict(zip(header, fields)), ensure_ascii=False))
        columns["parse_error"].append(error)
        for field, name in (("event_id", "event_id"), ("account_id", "account_id"), ("metric", "metric"),
                            ("quantity_text", "quantity"), ("occurred_at_text", "occurred_at"), ("user_id", "user_id"),
                            ("endpoint", "endpoint"), ("request_id", "request_id"), ("properties_json", "properties")):
            columns[field].append(value.get(name))
        columns["duplicate_key"].append(repeated)
    return pa.table({name: pa.array(values, pa.int64() if name == "line_number" else pa.string())
                     for name, values in columns.items()})


def _parquet_fields_sql(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    reader = f"read_parquet('{_sql_text(str(path))}')"
    try:
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    except duckdb.Error as error:
        raise _fault(error) from error
    row_json = "to_json(struct_pack(" + ", ".join(f"{_sql_ident(c)} := {_sql_ident(c)}" for c in columns) + "))::VARCHAR"
    # Columns as text. A typed properties column (a struct, a map) reads as DuckDB's text of it, not
    # JSON, so each such row is refused as invalid_properties rather than converted silently.
    pick = {f: (f"nullif(trim({_sql_ident(f)}::VARCHAR), '')" if f in columns else "NULL::VARCHAR") for f in EVENT_FIELDS}
    return f"""
        SELECT line_number, raw_text, NULL::VARCHAR AS parse_error, event_id, account_id, metric, quantity_text,
               occurred_at_text, user_id, endpoint, request_id, properties_json,
               {properties_duplicate_sql('properties_json')} AS duplicate_key
        FROM (
            SELECT ordinality AS line_number, {row_json} AS raw_text,
                   {pick['event_id']} AS event_id, {pick['account_id']} AS account_id, {pick['metric']} AS metric,
                   {pick['quantity']} AS quantity_text, {pick['occurred_at']} AS occurred_at_text,
                   {pick['user_id']} AS user_id, {pick['endpoint']} AS endpoint, {pick['request_id']} AS request_id,
                   {pick['properties']} AS properties_json
            FROM {reader} WITH ORDINALITY
        )"""


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[str]:
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, stage) -> None:
    """Call stage(fields_sql) with the file's fields; raises FileFault if the file cannot be read."""
    name = path.name.lower()
    try:
        if name.endswith(CSV_SUFFIXES):
            fields = _csv_fields(path)
            with _registered(con, "landed_csv_rows", fields) as relation:
                stage(f"SELECT * REPLACE (coalesce(duplicate_key, {properties_duplicate_sql('properties_json')}) AS duplicate_key) "
                      f"FROM {relation}")
        elif name.endswith(".parquet"):
            stage(_parquet_fields_sql(con, path))
        else:
            try:
                stage(json_fields_sql(_line_reader_sql(path)))
            except duckdb.InvalidInputException as error:
                if "unicode" not in str(error).lower():
                    raise
                with _registered(con, "landed_lines", _python_lines(path)) as relation:
                    stage(json_fields_sql(relation))
    except duckdb.CatalogException:
        raise  # the warehouse, not the file
    except (duckdb.Error, EOFError, OSError, zlib.error) as error:
        raise _fault(error) from error


def _fault(error: Exception) -> FileFault:
    text = str(error).lower()
    if "gzip" in text or isinstance(error, (EOFError, zlib.error, gzip.BadGzipFile)):
        return FileFault("unreadable_gzip", f"gzip stream is damaged or truncated ({str(error).splitlines()[0][:200]})")
    if "parquet" in text or "magic" in text:
        return FileFault("unreadable_parquet", f"not a readable Parquet file ({str(error).splitlines()[0][:200]})")
    return FileFault("unreadable_file", f"file could not be read ({str(error).splitlines()[0][:200]})")


def count_lines(con: duckdb.DuckDBPyConnection, path: Path, csv_header: bool = True) -> tuple[int, int]:
    """(event lines, blank lines) as far as the file can be read: for a file set aside whole, so
    that its accounting still says how many lines it held. A CSV file's first line is its header
    unless `csv_header` is false."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        try:
            [(rows,)] = con.execute(f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata('{_sql_text(str(path))}')").fetchall()
            return int(rows), 0
        except duckdb.Error:
            return 0, 0
    if not name.endswith(READABLE_SUFFIXES):
        return 0, 0
    lines = blank = 0
    try:
        with _open(path) as handle:
            for raw in handle:
                if raw.endswith(b"\n") or raw.strip():  # a damaged gzip stream may end mid-line
                    lines += 1
                    blank += not raw.strip()
    except (EOFError, OSError, zlib.error):
        pass  # what was read so far is what can be counted
    header = 1 if csv_header and name.endswith(CSV_SUFFIXES) and lines > blank else 0
    return lines - blank - header, blank

