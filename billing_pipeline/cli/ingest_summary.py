"""The ingestion part of `billing-pipeline run`: which days to ingest, and what the run says about
what came in, what was set aside, and which periods are held (and why)."""

from billing_pipeline.exchange.data_dir import DataDir


def landed_days(paths: DataDir) -> list[str]:
    """The landing day folders to ingest (named as a day within the daily partitions)."""
    from billing_pipeline.defs.ingest.raw_usage_events import partition_days
    from billing_pipeline.lib.ingest.landing_inventory import landing_days

    return [day.isoformat() for day in landing_days(paths.landing_usage, *partition_days())]


def print_ingest_summary(paths: DataDir) -> None:
    """Lines read and where they went; then every reason something was set aside, with its first file:line."""
    from billing_pipeline.lib.ingest.quarantine_report import counts_by_reason, first_of_each_reason, open_issued_changes
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        [(read, loaded, dups, quarantined)] = con.execute(
            "SELECT coalesce(sum(lines_read), 0), coalesce(sum(loaded), 0), coalesce(sum(duplicates), 0), "
            "coalesce(sum(quarantined), 0) FROM raw.ingest_accounting").fetchall()
        counts, firsts, changes = counts_by_reason(con), first_of_each_reason(con), open_issued_changes(con)
    print(f"lines read {read:,} = loaded {loaded:,} + duplicates {dups:,} + quarantined {quarantined:,}")
    if counts:
        print("set aside, by reason (details: `billing-pipeline quarantine`):")
        print("\n".join(counts))
        print("first of each:")
        print("\n".join("  " + line for line in firsts))
    if changes:
        print("files of issued months changed since they were billed:")
        print("\n".join("  " + line for line in changes))


def held_periods(paths: DataDir) -> set[str]:
    from billing_pipeline.lib.ingest.period_holds import held_periods as holds
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        return {hold.period for hold in holds(con)}


def print_holds(paths: DataDir) -> None:
    """Each held period, why, and the file:line rows behind it (a held period is rated, not issued)."""
    from billing_pipeline.lib.ingest.quarantine_report import holds
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        lines = holds(con)
    if lines:
        print("held, rated but not issued until the cause is fixed (a month closes only after the months before it):")
        print("\n".join("  " + line for line in lines))
