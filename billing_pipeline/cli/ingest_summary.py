"""The ingestion part of `billing-pipeline run`: which days to ingest, whether a day's ingest failed,
and what the run says about what came in, what was set aside, and which periods are held (and why).
Each returns lines, so any console can print them."""

from billing_pipeline.exchange.data_dir import DataDir


def landed_days(paths: DataDir) -> list[str]:
    """The landing day folders to ingest (named as a day within the daily partitions)."""
    from billing_pipeline.defs.ingest.raw_usage_events import partition_days
    from billing_pipeline.lib.ingest.landing_inventory import landing_days

    return [day.isoformat() for day in landing_days(paths.landing_usage, *partition_days())]


def days_to_ingest(paths: DataDir) -> list[str]:
    """The landed days with a new, changed or removed file (or one to judge again), oldest first."""
    from datetime import date

    from billing_pipeline.defs.ingest.raw_usage_events import partition_days
    from billing_pipeline.lib.ingest.landing_changes import days_due
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse) as con:
        due = days_due(con, paths.landing_usage, [date.fromisoformat(d) for d in landed_days(paths)], *partition_days())
    return [day.isoformat() for day in due]


def ingest_failed(result) -> bool:
    """Whether a run of ingest_job failed to ingest its day. A failed check is not a failure here: it
    holds only the periods it touches (raw.period_holds, which dbt reads), so rating goes on."""
    return any(event.is_step_failure and event.step_key == "raw_usage_events" for event in result.all_events)


def ingest_summary_lines(paths: DataDir) -> list[str]:
    """Lines read and where they went; every reason something was set aside, with its first file:line;
    changed files of issued months."""
    from billing_pipeline.lib.ingest.quarantine_report import counts_by_reason, first_of_each_reason, open_issued_changes
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        [(read, loaded, dups, quarantined)] = con.execute(
            "SELECT coalesce(sum(lines_read), 0), coalesce(sum(loaded), 0), coalesce(sum(duplicates), 0), "
            "coalesce(sum(quarantined), 0) FROM raw.ingest_accounting").fetchall()
        counts, firsts, changes = counts_by_reason(con), first_of_each_reason(con), open_issued_changes(con)
    lines = [f"lines read {read:,} = loaded {loaded:,} + duplicates {dups:,} + quarantined {quarantined:,}"]
    if counts:
        lines += ["set aside, by reason (details: `billing-pipeline quarantine`):", *counts,
                  "first of each:", *("  " + line for line in firsts)]
    if changes:
        lines += ["files of issued months changed since they were billed:", *("  " + line for line in changes)]
    return lines


def held_periods(paths: DataDir) -> set[str]:
    from billing_pipeline.lib.ingest.period_holds import held_periods as holds
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        return {hold.period for hold in holds(con)}


def hold_lines(paths: DataDir) -> list[str]:
    """Each held period, why, and the file:line rows behind it (a held period is rated, not issued)."""
    from billing_pipeline.lib.ingest.quarantine_report import holds
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        lines = holds(con)
    if not lines:
        return []
    return ["held, rated but not issued until the cause is fixed (a month closes only after the months before it):",
            *("  " + line for line in lines)]
