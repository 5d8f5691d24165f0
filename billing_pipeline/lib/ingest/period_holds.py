"""Periods held from closing, and why: a failed blocking ingestion check holds only the periods its
rows belong to, and every other month is rated, issued and published as usual.

`raw.period_holds` (a view dbt reads as a source: a held period is rated but never issued) joins
two kinds of hold:
- `raw.check_holds`: written by the blocking ingestion checks, one set per check and landing day,
  replaced each time the check runs (so a check that passes again lifts its holds);
- open changes of issued months' files (`raw.issued_file_changes`), which hold the next close.
A hold on a period already issued moves to the next close: that is where its correction would go.
"""

from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

from billing_pipeline.lib.ingest.issued_files import next_close
from billing_pipeline.lib.publish.issued import issued_periods


@dataclass(frozen=True)
class HeldRow:
    """One reason a period is held, and the landed row (file:line) or file (file:-) behind it."""

    reason: str
    source_file: str | None
    line_number: int | None
    detail: str

    @property
    def location(self) -> str:
        if self.source_file is None:
            return "-"
        return f"{self.source_file}:{self.line_number if self.line_number is not None else '-'}"


@dataclass(frozen=True)
class PeriodHold:
    period: str
    rows: tuple[HeldRow, ...]

    @property
    def reasons(self) -> list[str]:
        return sorted({row.reason for row in self.rows})


@dataclass(frozen=True)
class CheckHold:
    """What a failed check asks to hold: the periods of the offending rows, and one row to show."""

    periods: tuple[str, ...]
    source_file: str | None
    line_number: int | None
    detail: str


def replace_check_holds(con: duckdb.DuckDBPyConnection, check_name: str, day: date, holds: list[CheckHold]) -> None:
    """The check's holds for the landing day, replacing the ones it wrote before."""
    issued = issued_periods(con)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = {(next_close(issued) if period in issued else period, check_name, day, hold.source_file, hold.line_number,
             hold.detail if period not in issued else f"{hold.detail} (in issued {period}: holds the next close)", now)
            for hold in holds for period in hold.periods}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM raw.check_holds WHERE check_name = ? AND landing_date = ?", [check_name, day])
        if rows:
            con.executemany("INSERT INTO raw.check_holds VALUES (?, ?, ?, ?, ?, ?, ?)", sorted(rows, key=str))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def held_periods(con: duckdb.DuckDBPyConnection) -> list[PeriodHold]:
    """Every held period, oldest first, with each reason and the file:line rows that caused it."""
    holds: dict[str, list[HeldRow]] = {}
    for period, reason, source_file, line_number, detail in con.execute("""
            SELECT period, reason, source_file, line_number, detail FROM raw.period_holds
            ORDER BY period, reason, source_file NULLS FIRST, line_number NULLS FIRST""").fetchall():
        holds.setdefault(period, []).append(HeldRow(reason, source_file, line_number, detail))
    return [PeriodHold(period, tuple(rows)) for period, rows in holds.items()]
