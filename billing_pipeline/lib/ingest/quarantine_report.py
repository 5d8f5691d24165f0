"""What ingestion set aside and why, as text for the operator (`billing-pipeline quarantine`, and the
summary of `billing-pipeline run`)."""

from datetime import date

import duckdb

from billing_pipeline.lib.ingest.period_holds import held_periods
from billing_pipeline.lib.ingest.reasons import label, scope


def _where(day: date | None) -> tuple[str, list]:
    return ("WHERE landing_date = ?", [day]) if day else ("", [])


def counts_by_reason(con: duckdb.DuckDBPyConnection, day: date | None = None) -> list[str]:
    where, params = _where(day)
    rows = con.execute(f"SELECT reason, count(*) FROM raw.quarantine {where} GROUP BY ALL ORDER BY 2 DESC, 1", params).fetchall()
    return [f"{count:>9,}  {reason:<23} {scope(reason):<8} {label(reason)}" for reason, count in rows]


def first_of_each_reason(con: duckdb.DuckDBPyConnection, day: date | None = None, per_reason: int = 1) -> list[str]:
    """The first `per_reason` lines, files or folders set aside for each reason, as file:line."""
    where, params = _where(day)
    rows = con.execute(f"""
        SELECT reason, source_file, line_number, detail FROM raw.quarantine {where}
        QUALIFY row_number() OVER (PARTITION BY reason ORDER BY landing_date NULLS FIRST, source_file, line_number) <= ?
        ORDER BY reason, landing_date NULLS FIRST, source_file, line_number""", [*params, per_reason]).fetchall()
    return [f"{source_file}:{line if line is not None else '-'}  {reason}: {detail or label(reason)}"
            for reason, source_file, line, detail in rows]


def open_issued_changes(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("""SELECT source_file, change, issued_periods, held_period FROM raw.issued_file_changes
                          WHERE resolution IS NULL ORDER BY ALL""").fetchall()
    return [f"{rel}  {change} after {periods} was issued; the billed rows are kept; holds {held}; "
            f"`billing-pipeline acknowledge {rel}` or land the original again" for rel, change, periods, held in rows]


def holds(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [f"{hold.period}  held ({row.reason}): {row.location}  {row.detail}"
            for hold in held_periods(con) for row in hold.rows]


def report(con: duckdb.DuckDBPyConnection, day: date | None = None, per_reason: int = 1) -> list[str]:
    counts = counts_by_reason(con, day)
    lines = [f"set aside {'on ' + day.isoformat() if day else 'in all landing days and folders'}, by reason:",
             *(counts or ["        0  nothing is set aside"])]
    if counts:
        lines += ["", f"first {'one' if per_reason == 1 else per_reason} of each reason (file:line, '-' for a whole file or folder):",
                  *("  " + line for line in first_of_each_reason(con, day, per_reason))]
    changes = open_issued_changes(con)
    if changes:
        lines += ["", "files of issued months changed since they were billed:", *("  " + line for line in changes)]
    held = holds(con)
    if held:
        lines += ["", "periods held from closing:", *("  " + line for line in held)]
    return lines
