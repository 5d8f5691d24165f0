"""Landed files of issued months: what was billed stays as billed.

A landed file is *issued* once its landing day lies in an issued period or any of its valid rows
occurred in one. If such a file is rewritten or deleted, its rows stay in the warehouse exactly as
they were billed (its status says so) and the new content is not read. A new file in a landing day
of an issued period is not read either: its events would land in a month that is never priced again
(late events count only when they land after their month). Each such change is recorded in
`raw.issued_file_changes` and holds the next close (see period_holds.py) until the original content
is landed again (or the new file removed), or someone acknowledges it: the billed copy then stands
for good, and corrections are landed as a new file in the current day's folder, where new events
are late events billed as adjustments and changed ones are refused as conflicting_event_id.
"""

from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

from billing_pipeline.lib.periods import next_month, period_start, period_text

# Statuses of a file whose rows are in the warehouse: read now, or kept as billed.
ROWS_KEPT = ("changed_after_issue", "deleted_after_issue")
ROWS_PRESENT = ("ok", *ROWS_KEPT)


@dataclass(frozen=True)
class PreviousFile:
    status: str
    content_hash: str | None
    first_seen_at: datetime
    issued_periods: tuple[str, ...]  # issued periods its valid rows occurred in


@dataclass(frozen=True)
class FileDecision:
    """What this ingest does with one file of the day."""

    rel: str
    status: str | None  # None: read it; 'added_after_issue': set aside; ROWS_KEPT: keep the billed rows
    change: str | None  # rewritten | deleted | added: an unacknowledged change to record
    billed_hash: str | None
    current_hash: str | None
    issued_periods: tuple[str, ...]


def next_close(issued: list[str]) -> str:
    """The period the next close would issue: the month after the last issued one."""
    return period_text(next_month(period_start(max(issued))))


def previous_files(con: duckdb.DuckDBPyConnection, day: date, issued: list[str]) -> dict[str, PreviousFile]:
    rows = con.execute("""
        SELECT f.source_file, f.file_status, f.content_hash, coalesce(f.first_seen_at, f.ingested_at),
               coalesce(list(DISTINCT p.period ORDER BY p.period) FILTER (WHERE list_contains($issued, p.period)), [])
        FROM raw.ingest_files f
        LEFT JOIN (SELECT DISTINCT source_file, strftime(occurred_at, '%Y-%m') AS period
                   FROM raw.usage_events WHERE landing_date = $day) p USING (source_file)
        WHERE f.landing_date = $day
        GROUP BY ALL
    """, {"day": day, "issued": sorted(issued)}).fetchall()
    return {rel: PreviousFile(status, digest, seen, tuple(periods)) for rel, status, digest, seen, periods in rows}


def _acknowledged(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, set[str | None]]:
    known: dict[str, set[str | None]] = {}
    for rel, digest in con.execute("""SELECT source_file, current_hash FROM raw.issued_file_changes
                                      WHERE landing_date = ? AND resolution = 'acknowledged'""", [day]).fetchall():
        known.setdefault(rel, set()).add(digest)
    return known


def decide(con: duckdb.DuckDBPyConnection, day: date, hashes: dict[str, str], readable: set[str], issued: list[str],
           previous: dict[str, PreviousFile]) -> list[FileDecision]:
    """What to do, because of issued periods, with each file of the day: `hashes` holds every file
    there now (rel -> content hash), `readable` those that would be read. Files without a decision
    are handled as usual."""
    day_issued = period_text(day) in issued
    acknowledged = _acknowledged(con, day)
    decisions = []
    for rel in sorted(set(hashes) | set(previous)):
        prev, digest = previous.get(rel), hashes.get(rel)
        seen = acknowledged.get(rel, set())
        billed = prev is not None and prev.status in ROWS_PRESENT and (day_issued or bool(prev.issued_periods))
        periods = prev.issued_periods if prev and prev.issued_periods else (period_text(day),)
        # a warehouse from before content hashes adopts the file as it is now
        if billed and (digest == prev.content_hash or prev.content_hash is None and digest is not None):
            continue  # the billed content, landed again
        if billed:
            change, status = ("deleted", "deleted_after_issue") if digest is None else ("rewritten", "changed_after_issue")
            decisions.append(FileDecision(rel, status, None if digest in seen else change, prev.content_hash, digest, periods))
        elif day_issued and rel in readable and (prev is None or prev.content_hash != digest or prev.status == "added_after_issue"):
            change = "rewritten" if prev is not None and prev.content_hash != digest else "added"
            decisions.append(FileDecision(rel, "added_after_issue", None if digest in seen else change, None, digest, periods))
    return decisions


def record_changes(con: duckdb.DuckDBPyConnection, day: date, decisions: list[FileDecision], issued: list[str]) -> None:
    """Open a change for each new one, keep open ones current, and close those that went away
    (the original landed again, or the added file removed)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    open_changes = {rel for (rel,) in con.execute(
        "SELECT source_file FROM raw.issued_file_changes WHERE landing_date = ? AND resolution IS NULL", [day]).fetchall()}
    changed = {d.rel: d for d in decisions if d.change}
    for rel in open_changes - set(changed):
        con.execute("""UPDATE raw.issued_file_changes SET resolution = 'restored', resolved_at = ?
                       WHERE landing_date = ? AND source_file = ? AND resolution IS NULL""", [now, day, rel])
    for rel, decision in changed.items():
        if rel in open_changes:
            con.execute("""UPDATE raw.issued_file_changes SET change = ?, current_hash = ?
                           WHERE landing_date = ? AND source_file = ? AND resolution IS NULL""",
                        [decision.change, decision.current_hash, day, rel])
        else:
            con.execute("INSERT INTO raw.issued_file_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                        [day, rel, decision.change, decision.billed_hash, decision.current_hash,
                         ", ".join(decision.issued_periods), next_close(issued), now])


class NothingToAcknowledge(ValueError):
    """No open change of an issued month's file under that name."""


def acknowledge(con: duckdb.DuckDBPyConnection, source_file: str, note: str) -> int:
    """Accept an open change of an issued month's file: the billed copy stands for good and the
    hold it put on the next close is lifted. Returns how many changes were acknowledged."""
    rows = con.execute("""UPDATE raw.issued_file_changes SET resolution = 'acknowledged', resolved_at = now()::TIMESTAMP, note = ?
                          WHERE source_file = ? AND resolution IS NULL RETURNING source_file""", [note, source_file]).fetchall()
    if not rows:
        open_files = [rel for (rel,) in con.execute(
            "SELECT source_file FROM raw.issued_file_changes WHERE resolution IS NULL ORDER BY ALL").fetchall()]
        raise NothingToAcknowledge(f"no open change for {source_file}" + (
            f"; open changes: {', '.join(open_files)}" if open_files else "; nothing is waiting to be acknowledged"))
    return len(rows)
