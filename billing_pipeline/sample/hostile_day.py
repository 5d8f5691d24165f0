"""A hostile landing day: every fault ingestion must survive, with valid events mixed in.

Written next to a generated sample (`billing-pipeline generate --hostile`), with a manifest of where
each line must end up: valid events loaded (by event_id), bad lines quarantined at file:line with
their reason, files set aside whole with theirs, and what lies outside the day folders listed.
"""

import gzip
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from billing_pipeline.sample.catalog_files import SampleAccount


@dataclass
class HostileManifest:
    day: str = ""
    loaded: dict[str, str] = field(default_factory=dict)  # event_id -> exact quantity loaded
    lines: list[tuple[str, int, str]] = field(default_factory=list)  # (source_file, line, reason)
    files: dict[str, str] = field(default_factory=dict)  # source_file -> reason it is set aside whole
    outside: dict[str, str] = field(default_factory=dict)  # path under landing/usage -> reason


class _File:
    """Lines of one landed file, each recorded with where it must end up."""

    def __init__(self, manifest: HostileManifest, rel: str):
        self.manifest, self.rel, self.lines = manifest, rel, []

    def add(self, line: str | bytes, outcome: str, event_id: str | None = None, quantity: str = "1") -> None:
        self.lines.append(line.encode() if isinstance(line, str) else line)
        if outcome == "loaded":
            self.manifest.loaded[event_id] = quantity
        elif outcome not in ("blank", "header"):
            self.manifest.lines.append((self.rel, len(self.lines), outcome))

    def content(self) -> bytes:
        return b"\n".join(self.lines) + b"\n"


def _event(event_id: str, account: str, occurred_at: str, **extra) -> str:
    return json.dumps({"event_id": event_id, "account_id": account, "metric": "api_calls", "occurred_at": occurred_at, **extra})


def write_hostile_day(landing: Path, accounts: list[SampleAccount], day: date, long_line_mb: int = 3) -> HostileManifest:
    """Write the hostile files into landing/usage/<day>/ and beside it; return where each line goes."""
    manifest = HostileManifest(day=day.isoformat())
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    account, next_day = accounts[0].account_id, day + timedelta(days=1)
    at = f"{day}T12:00:00Z"

    lines = _File(manifest, f"{day}/hostile.ndjson")
    # A producer naming folders by its local date: 23:30 at -10:00 is 09:30 UTC the next day (the
    # next month at a month's end), within the 14 h tolerance; it is billed in its UTC period.
    lines.add(_event("tz-edge-1", account, f"{day}T23:30:00-10:00", quantity=1), "loaded", "tz-edge-1")
    lines.add(_event("too-late-1", account, f"{next_day}T15:00:00Z"), "occurred_after_landing")
    lines.add(_event("tiny-1", account, at, quantity=1e-7), "loaded", "tiny-1", "0.0000001")
    lines.add('{"event_id":"nine-places-1","account_id":"%s","metric":"api_calls","occurred_at":"%s","quantity":0.123456789}'
              % (account, at), "loaded", "nine-places-1", "0.123456789")
    lines.add('{"event_id":"exponent-1","account_id":"%s","metric":"api_calls","occurred_at":"%s","quantity":2.5E3}'
              % (account, at), "loaded", "exponent-1", "2500")
    lines.add('{"event_id":"negative-tiny-1","account_id":"%s","metric":"api_calls","occurred_at":"%s","quantity":-1e-7}'
              % (account, at), "invalid_quantity")
    lines.add('{"event_id":"ten-places-1","account_id":"%s","metric":"api_calls","occurred_at":"%s","quantity":1e-10}'
              % (account, at), "invalid_quantity")
    lines.add('{"event_id":"huge-1","account_id":"%s","metric":"api_calls","occurred_at":"%s","quantity":1e20}'
              % (account, at), "invalid_quantity")
    lines.add(_event("hour-24-1", account, f"{day}T24:00:00Z"), "invalid_timestamp")
    lines.add(_event("lowercase-1", account, f"{day}t10:00:00z"), "loaded", "lowercase-1")
    lines.add(_event("leap-second-1", account, f"{day}T23:59:60Z"), "loaded", "leap-second-1")
    lines.add(_event("not-leap-1", account, f"{day}T10:59:60Z"), "invalid_timestamp")
    lines.add('{"event_id":"twice-1","account_id":"%s","account_id":"acct_other","metric":"api_calls","occurred_at":"%s"}'
              % (account, at), "duplicate_key")
    lines.add("", "blank")
    lines.add('{"event_id":"cut-1","account_id":"%s"' % account, "malformed_json")
    lines.add(_event("after-bad-1", account, at), "loaded", "after-bad-1")
    (folder / "hostile.ndjson").write_bytes(lines.content())

    mixed = _File(manifest, f"{day}/mixed-encoding.ndjson")
    mixed.add(_event("utf8-before-1", account, at), "loaded", "utf8-before-1")
    mixed.add(_event("latin1-1", account, at, note="caf\xe9").encode("utf-8").replace(b"\\u00e9", b"\xe9"), "not_utf8")
    mixed.add(_event("utf8-after-1", account, at), "loaded", "utf8-after-1")
    (folder / "mixed-encoding.ndjson").write_bytes(mixed.content())

    # One line far over DuckDB's default 2 MB line limit, between two short ones.
    long = _File(manifest, f"{day}/long-lines.ndjson")
    long.add(_event("short-1", account, at), "loaded", "short-1")
    long.add(_event("long-1", account, at, properties={"trace": "x" * (long_line_mb << 20)}), "loaded", "long-1")
    long.add(_event("short-2", account, at), "loaded", "short-2")
    (folder / "long-lines.ndjson").write_bytes(long.content())

    table = _File(manifest, f"{day}/hostile.csv")
    table.add("event_id,account_id,metric,quantity,occurred_at,properties", "header")
    table.add(f"csv-ok-1,{account},api_calls,3,{at},", "loaded", "csv-ok-1", "3")
    table.add(f'csv-properties-1,{account},api_calls,1,{at},"{{not json"', "invalid_properties")
    table.add(f"csv-ragged-1,{account},api_calls,1,{at},,extra", "ragged_row")
    table.add(f"csv-short-1,{account},api_calls", "ragged_row")
    table.add(f'csv-ok-2,{account},api_calls,1.5e1,{at},"{{""region"":""eu""}}"', "loaded", "csv-ok-2", "15")
    (folder / "hostile.csv").write_bytes(table.content())

    no_header = f"csv-noheader-1,{account},api_calls,1,{at}\ncsv-noheader-2,{account},api_calls,1,{at}\n"
    (folder / "no-header.csv").write_text(no_header)
    manifest.files[f"{day}/no-header.csv"] = "no_header"

    pl.DataFrame({"event_id": ["pq-struct-1", "pq-struct-2"], "account_id": [account] * 2, "metric": ["api_calls"] * 2,
                  "occurred_at": [at] * 2, "properties": [{"region": "eu"}, {"region": "us"}]}).write_parquet(folder / "typed.parquet")
    manifest.lines += [(f"{day}/typed.parquet", 1, "invalid_properties"), (f"{day}/typed.parquet", 2, "invalid_properties")]
    pl.DataFrame({"event_id": ["pq-ok-1"], "account_id": [account], "metric": ["api_calls"], "quantity": [2],
                  "occurred_at": [at], "properties": ['{"region": "eu"}']}).write_parquet(folder / "text.parquet")
    manifest.loaded["pq-ok-1"] = "2"

    nested = folder / "sub"
    nested.mkdir(exist_ok=True)
    (nested / "late.ndjson").write_text(_event("nested-1", account, at) + "\n")
    manifest.files[f"{day}/sub/late.ndjson"] = "nested_folder"
    (folder / ".upload-in-progress.ndjson").write_text(_event("hidden-1", account, at) + "\n")
    manifest.files[f"{day}/.upload-in-progress.ndjson"] = "hidden_file"
    (folder / "cut.ndjson.gz").write_bytes(gzip.compress((_event("gz-1", account, at) + "\n").encode() * 200, mtime=0)[:-40])
    manifest.files[f"{day}/cut.ndjson.gz"] = "unreadable_gzip"
    (folder / "nothing.ndjson").write_bytes(b"")
    manifest.files[f"{day}/nothing.ndjson"] = "empty_file"
    (folder / "usage.txt").write_text("not a usage file\n")
    manifest.files[f"{day}/usage.txt"] = "unknown_extension"

    outside = {"latest/usage.ndjson": "not_a_day_folder", f"{day:%Y%m%d}/usage.ndjson": "not_a_day_folder",
               "1999-12-31/usage.ndjson": "outside_partitions", "README.txt": "not_in_a_day_folder"}
    for rel, reason in outside.items():
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_event(f"outside-{reason}", account, at) + "\n")
        manifest.outside[rel] = reason
    return manifest
