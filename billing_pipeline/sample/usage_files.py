"""Landed usage files for the sample and the benchmarks, one day at a time.

Usage is heavy-tailed per account (Pareto scale) with weekly seasonality. Faults real logs have are
injected at known rates and counted in a manifest, so tests can check that every injected line ends
up exactly where it should: loaded, duplicate or quarantined with the right reason. Each day is built
and written on its own, so 100M events never sit in memory at once.
"""

import gzip
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

from billing_pipeline.sample.catalog_files import SampleAccount, plan_metrics
from billing_pipeline.sample.hostile_day import HostileManifest, write_hostile_day

# Relative event volume per metric, and how quantities look for each.
METRIC_WEIGHTS = {"api_calls": 10.0, "lines_reviewed": 2.0, "docs_generated": 1.0, "ai_tokens_input": 3.0,
                  "ai_tokens_output": 3.0, "exports": 0.3, "seats": 0.0, "active_users": 1.5}
WEEKDAY_FACTORS = np.array([1.0, 1.05, 1.1, 1.05, 0.95, 0.45, 0.4])  # Monday first
OFFSETS = ["Z", "Z", "Z", "+00:00", "-05:00", "+05:30", "+09:00", "-08:00"]
ENDPOINTS = ["/v1/search", "/v1/review", "/v1/generate", "/v1/export", "/v1/embed"]

# Line faults: kind -> what ingestion must do with it (reason in the quarantine, or duplicate).
LINE_FAULTS = {
    "malformed_json": "malformed_json",
    "missing_field": "missing_field",
    "negative_quantity": "invalid_quantity",
    "non_numeric_quantity": "invalid_quantity",
    "unknown_account": "unknown_account",
    "unknown_metric": "unknown_metric",
    "redelivery": "duplicate",
    "conflict": "conflicting_event_id",
    "not_utf8": "not_utf8",  # the one line of latin1.ndjson, written with the file faults
}
FILE_FAULTS = {"empty.ndjson": "empty_file", "truncated.ndjson.gz": "unreadable_gzip", "notes.xml": "unknown_extension"}


@dataclass
class Manifest:
    """What the generator wrote: clean lines, injected faults by kind, and per-file line counts."""

    clean_events: int = 0
    faults: dict[str, int] = field(default_factory=lambda: {k: 0 for k in LINE_FAULTS})
    file_faults: dict[str, str] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    hostile: HostileManifest | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


@dataclass(frozen=True)
class UsageSpec:
    start: date
    days: int
    events_per_day: int
    seed: int
    fault_rate: float = 0.002  # per line fault kind
    late_rate: float = 0.01  # events that land 1-5 days after they occurred
    file_format: str = "ndjson"  # ndjson | parquet
    file_faults: bool = True
    hostile: bool = False  # also write a hostile day (hostile_day.py)

    @property
    def hostile_day(self) -> date:
        """The first month's last day if the sample holds it (so an event can cross into the next
        month), else the last day."""
        days = [self.start + timedelta(days=i) for i in range(self.days)]
        return next((d for d in days if (d + timedelta(days=1)).day == 1), days[-1])


def _account_table(accounts: list[SampleAccount], rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    scales = rng.pareto(1.3, len(accounts)) + 0.05
    for account, scale in zip(accounts, scales):
        for metric in plan_metrics(account.plan_code):
            if METRIC_WEIGHTS[metric] > 0:
                rows.append((account.account_id, metric, float(scale * METRIC_WEIGHTS[metric])))
    frame = pl.DataFrame(rows, schema={"account_id": pl.String, "metric": pl.String, "weight": pl.Float64}, orient="row")
    return frame.with_columns(share=pl.col("weight") / pl.col("weight").sum())


def _quantities(metric: pl.Series, rng: np.random.Generator) -> np.ndarray:
    n = len(metric)
    lognormal = np.maximum(1, rng.lognormal(0, 1, n))
    by_metric = {
        "api_calls": np.where(rng.random(n) < 0.9, 1, rng.integers(2, 20, n)),
        "lines_reviewed": (lognormal * 60).astype(np.int64),
        "docs_generated": np.ones(n, dtype=np.int64),
        "ai_tokens_input": (lognormal * 1500).astype(np.int64),
        "ai_tokens_output": (lognormal * 400).astype(np.int64),
        "exports": np.ones(n, dtype=np.int64),
        "active_users": np.ones(n, dtype=np.int64),
    }
    codes = metric.to_numpy()
    quantity = np.ones(n, dtype=np.int64)
    for code, values in by_metric.items():
        mask = codes == code
        quantity[mask] = values[mask]
    return quantity


def _day_events(day: date, day_index: int, table: pl.DataFrame, seats: pl.DataFrame, spec: UsageSpec,
                rng: np.random.Generator) -> pl.DataFrame:
    factor = WEEKDAY_FACTORS[day.weekday()] / WEEKDAY_FACTORS.mean()
    counts = rng.poisson(table["share"].to_numpy() * spec.events_per_day * factor)
    events = table.select("account_id", "metric").gather(np.repeat(np.arange(table.height), counts))
    events = pl.concat([events, seats.select("account_id", "metric")], how="vertical")
    n = events.height
    seconds = rng.integers(0, 86400, n)
    late_days = np.where(rng.random(n) < spec.late_rate, rng.integers(1, 6, n), 0)
    offset = pl.Series(rng.choice(OFFSETS, n))
    user_numbers = np.minimum(rng.zipf(1.6, n), 400)
    day_start = np.datetime64(day.isoformat(), "s")
    events = events.with_columns(
        quantity=pl.Series(_quantities(events["metric"], rng)),
        occurred_utc=pl.Series((day_start + (seconds - late_days * 86400).astype("timedelta64[s]")).astype("datetime64[us]")),
        offset=offset,
        user_id=pl.format("u_{}_{}", pl.col("account_id").str.slice(5), pl.Series(user_numbers)),
        endpoint=pl.when(pl.col("metric") == "api_calls").then(pl.Series(rng.choice(ENDPOINTS, n))),
        request_id=pl.when(pl.col("metric") == "api_calls").then(pl.format("req_{}_{}", pl.lit(day_index), pl.int_range(n))),
    )
    # Seats are a reading, not a count: the account's seat level that day.
    events = events.with_columns(
        quantity=pl.when(pl.col("metric") == "seats").then(pl.col("account_id").replace_strict(
            seats["account_id"], seats["level"], default=1)).otherwise(pl.col("quantity")))
    shift = (pl.col("offset").replace_strict({"Z": "0", "+00:00": "0", "-05:00": "-300", "+05:30": "330",
                                                "+09:00": "540", "-08:00": "-480"}).cast(pl.Int64) * 60_000_000)
    local = (pl.col("occurred_utc").cast(pl.Int64) + shift).cast(pl.Datetime("us"))
    return events.with_columns(
        occurred_at=pl.concat_str([local.dt.strftime("%Y-%m-%dT%H:%M:%S"), pl.col("offset")]),
        properties=pl.when(pl.col("metric").str.starts_with("ai_tokens"))
        .then(pl.struct(model=pl.lit("m-large"), region=pl.lit("us-east-1"))),
    ).sort("occurred_utc").with_columns(
        event_id=pl.format("ev_{}_{}", pl.lit(day.strftime("%Y%m%d")), pl.int_range(n).cast(pl.String).str.zfill(8)))


def _edge_events(day: date, table: pl.DataFrame) -> pl.DataFrame:
    """Events on UTC `day` whose local date, in far timezones, is the day before or after.

    At a month boundary the local date names one billing period and UTC another; UTC decides.
    """
    first = table.row(0, named=True)
    stamps = [f"{day - timedelta(days=1)}T23:59:59-12:00", f"{day + timedelta(days=1)}T00:00:00+14:00"]
    return pl.DataFrame({
        "event_id": [f"ev_{day:%Y%m%d}_edge{i}" for i in range(len(stamps))],
        "account_id": [first["account_id"]] * len(stamps), "metric": [first["metric"]] * len(stamps),
        "quantity": [1] * len(stamps), "occurred_at": stamps,
    })


EVENT_COLUMNS = ["event_id", "account_id", "metric", "quantity", "occurred_at", "user_id", "endpoint", "request_id", "properties"]


def _json_lines(events: pl.DataFrame) -> pl.Series:
    return events.select(pl.struct(*[c for c in EVENT_COLUMNS if c in events.columns]).struct.json_encode()).to_series()


def _inject_faults(lines: pl.Series, carried: pl.Series, spec: UsageSpec, manifest: Manifest,
                   rng: np.random.Generator) -> tuple[pl.Series, pl.Series]:
    """Corrupt a known share of lines in place; re-deliver or conflict some of the previous day's lines.

    Returns the day's lines and the lines to carry into the next day.
    """
    n = len(lines)
    kinds = [k for k in LINE_FAULTS if k not in {"redelivery", "conflict", "not_utf8"}]
    per_kind = int(n * spec.fault_rate)
    picks = rng.permutation(n)[: per_kind * len(kinds) + 2 * per_kind]
    edits = {
        "malformed_json": lambda s: s.str.slice(0, s.str.len_chars() // 2),
        "missing_field": lambda s: s.str.replace(r'"account_id":"[^"]*",', ""),
        "negative_quantity": lambda s: s.str.replace(r'"quantity":[^,}]*', '"quantity":-5'),
        "non_numeric_quantity": lambda s: s.str.replace(r'"quantity":[^,}]*', '"quantity":"lots"'),
        "unknown_account": lambda s: s.str.replace(r'"account_id":"[^"]*"', '"account_id":"acct_unknown"'),
        "unknown_metric": lambda s: s.str.replace(r'"metric":"[^"]*"', '"metric":"teleportations"'),
    }
    frame = pl.DataFrame({"line": lines})
    for i, kind in enumerate(kinds):
        idx = picks[i * per_kind:(i + 1) * per_kind]
        frame = frame.with_columns(line=pl.when(pl.int_range(n).is_in(idx)).then(edits[kind](pl.col("line"))).otherwise(pl.col("line")))
        manifest.faults[kind] += len(idx)
    out = frame["line"]
    extra = []
    if len(carried):
        half = len(carried) // 2
        extra.append(carried[:half])  # exact re-delivery of yesterday's lines
        extra.append(carried[half:].str.replace(r'"quantity":[^,}]*', '"quantity":7777.25'))  # same id, other content
        manifest.faults["redelivery"] += half
        manifest.faults["conflict"] += len(carried) - half
    clean_tail = picks[len(kinds) * per_kind:]
    next_carry = out.gather(np.sort(clean_tail)) if len(clean_tail) else pl.Series([], dtype=pl.String)
    return pl.concat([out, *extra]) if extra else out, next_carry


def _write_ndjson(path: Path, lines: pl.Series) -> None:
    data = ("\n".join(lines.to_list()) + "\n").encode("utf-8") if len(lines) else b""
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
    else:
        path.write_bytes(data)


def _write_file_faults(folder: Path, manifest: Manifest) -> None:
    (folder / "empty.ndjson").write_bytes(b"")
    (folder / "truncated.ndjson.gz").write_bytes(gzip.compress(b'{"event_id":"x"}\n' * 50, mtime=0)[:40])
    (folder / "latin1.ndjson").write_bytes('{"event_id":"ev_latin","account_id":"acct_0001","metric":"api_calls","note":"caf\xe9"}\n'.encode("latin-1"))
    manifest.faults["not_utf8"] += 1
    manifest.files[f"{folder.name}/latin1.ndjson"] = 1
    (folder / "notes.xml").write_text("<usage/>")
    for name, reason in FILE_FAULTS.items():
        manifest.file_faults[f"{folder.name}/{name}"] = reason


def write_usage_files(landing: Path, accounts: list[SampleAccount], spec: UsageSpec) -> Manifest:
    """Write landing/usage/<day>/ folders for spec.days days; return what was injected."""
    rng = np.random.default_rng(spec.seed)
    table = _account_table(accounts, rng)
    seat_accounts = [a.account_id for a in accounts if "seats" in plan_metrics(a.plan_code)]
    seat_levels = pl.DataFrame({"account_id": seat_accounts, "metric": ["seats"] * len(seat_accounts),
                                "level": rng.integers(1, 30, len(seat_accounts))})
    manifest = Manifest()
    carried = pl.Series([], dtype=pl.String)
    for day_index in range(spec.days):
        day = spec.start + timedelta(days=day_index)
        folder = landing / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        if spec.hostile and day == spec.hostile_day:
            manifest.hostile = write_hostile_day(landing, accounts, day)
        seat_levels = seat_levels.with_columns(level=pl.col("level") + pl.Series(rng.binomial(1, 0.03, seat_levels.height)))
        events = _day_events(day, day_index, table, seat_levels, spec, rng)
        if day_index in (spec.days // 3, spec.days - 1) or day.day == 1 or (day + timedelta(days=1)).day == 1:
            events = pl.concat([events, _edge_events(day, table)], how="diagonal_relaxed")
        manifest.clean_events += events.height
        if spec.file_format == "parquet":
            path = folder / f"usage-{day.isoformat()}.parquet"
            events.select([c for c in EVENT_COLUMNS if c != "properties"]).with_columns(
                properties=events["properties"].struct.json_encode()).write_parquet(path)
            manifest.files[f"{folder.name}/{path.name}"] = events.height
            continue
        csv_part = events.filter(pl.int_range(events.height) % 10 == 0) if day_index % 7 == 4 else events.clear()
        rest = events.filter(~pl.col("event_id").is_in(csv_part["event_id"].implode())) if csv_part.height else events
        lines, carried = _inject_faults(_json_lines(rest), carried, spec, manifest, rng)
        gz_part = day_index % 7 == 2
        parts = {f"usage-{day.isoformat()}-a.ndjson": lines[: len(lines) * 3 // 4] if gz_part else lines}
        if gz_part:
            parts[f"usage-{day.isoformat()}-b.ndjson.gz"] = lines[len(lines) * 3 // 4:]
        for name, part in parts.items():
            _write_ndjson(folder / name, part)
            manifest.files[f"{folder.name}/{name}"] = len(part)
        if csv_part.height:
            name = f"usage-{day.isoformat()}-c.csv"
            csv_part.select([c for c in EVENT_COLUMNS if c != "properties"]).with_columns(
                properties=csv_part["properties"].struct.json_encode()).write_csv(folder / name)
            manifest.files[f"{folder.name}/{name}"] = csv_part.height
        if spec.file_faults and day_index == 1:
            _write_file_faults(folder, manifest)
        _stamp_landing_time(folder, day, late=spec.file_faults and day_index == 2)
    return manifest


def _stamp_landing_time(folder: Path, day: date, late: bool) -> None:
    """Files of a day land shortly after it ends; one sample day lands two days late."""
    landed = datetime.combine(day + timedelta(days=3 if late else 1), time(0, 30), timezone.utc).timestamp()
    for path in folder.iterdir():
        os.utime(path, (landed, landed))
