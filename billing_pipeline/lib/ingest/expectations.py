"""Great Expectations on properties of a landing day as a whole, which no rule on one line can see.

- quarantined_share: per file and reason, the share of the file's lines quarantined (a producer
  sending mostly garbage);
- quantity_distribution: per metric, today's median quantity against the trailing days' medians;
- late_event_share: the share of the day's events that occurred before the landing day (minus the
  late tolerance), i.e. that landed after their own day;
- silent_accounts: accounts that sent events every trailing day and none today.
Each has a threshold and a severity in IngestSettings (the one place they are set). Rules already
enforced per line (ids present, known accounts and metrics, quantity and timestamp formats, events
after their landing day) are not repeated here.

The day's figures are computed in DuckDB; GX validates them as pandas frames (its SQL path through
duckdb-engine is broken, GX issue 10738). GX takes ~20 s to import, so it is imported inside
`validate_day` only.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import duckdb
import pandas as pd

from billing_pipeline.lib.ingest.settings import IngestSettings

ROW = "row"  # each frame's row number, how GX names the rows that failed


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str
    severity: str  # warn | error
    success: bool
    evaluated: int  # rows of the day's frame
    failures: list[dict]  # the frame's rows that failed, as dicts
    summary: str


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    frame = con.execute(sql, params).df()
    frame.insert(0, ROW, range(len(frame)))
    return frame


def day_figures(con: duckdb.DuckDBPyConnection, day: date, settings: IngestSettings) -> dict[str, pd.DataFrame]:
    """The frames each expectation judges, one row per item it judges."""
    params = {"day": day, "first": day - timedelta(days=settings.volume_window_days)}
    frames = {"quarantined_share": _frame(con, """
        SELECT q.source_file, q.reason, count(*) AS lines, any_value(f.lines_read) AS lines_read,
               count(*) / any_value(f.lines_read) AS share, min(q.line_number) AS line_number
        FROM raw.quarantine q JOIN raw.ingest_files f USING (landing_date, source_file)
        WHERE q.landing_date = $day AND q.line_number IS NOT NULL AND f.lines_read >= $min_lines
        GROUP BY ALL ORDER BY ALL""", {"day": day, "min_lines": settings.quarantined_share_min_lines})}
    frames["quantity_distribution"] = _frame(con, """
        WITH daily AS (
            SELECT landing_date, metric, median(quantity)::DOUBLE AS median_quantity,
                   arg_max(source_file, quantity) AS source_file, arg_max(line_number, quantity) AS line_number
            FROM raw.usage_events WHERE landing_date BETWEEN $first AND $day GROUP BY ALL
        ),
        compared AS (
            SELECT t.metric, t.median_quantity AS today_median, median(p.median_quantity) AS trailing_median, count(*) AS trailing_days,
                   any_value(t.source_file) AS source_file, any_value(t.line_number) AS line_number
            FROM daily t JOIN daily p ON p.metric = t.metric AND p.landing_date < t.landing_date
            WHERE t.landing_date = $day GROUP BY ALL HAVING count(*) >= 3
        )
        SELECT *, CASE WHEN greatest(today_median, trailing_median) = 0 THEN 1.0
                       ELSE coalesce(greatest(today_median, trailing_median) / nullif(least(today_median, trailing_median), 0),
                                     'inf'::DOUBLE) END AS fold
        FROM compared ORDER BY metric""", params)
    frames["late_event_share"] = _frame(con, """
        SELECT count(*) FILTER (WHERE occurred_at < $earliest) AS late, count(*) AS events,
               coalesce(count(*) FILTER (WHERE occurred_at < $earliest) / nullif(count(*), 0), 0) AS share,
               arg_min(source_file, line_number) FILTER (WHERE occurred_at < $earliest) AS source_file,
               min(line_number) FILTER (WHERE occurred_at < $earliest) AS line_number
        FROM raw.usage_events WHERE landing_date = $day""",
        {"day": day, "earliest": datetime.combine(day, time()) - timedelta(hours=settings.late_tolerance_hours)})
    frames["silent_accounts"] = _frame(con, """
        WITH earlier AS (
            SELECT landing_date, account_id, count(*) AS events FROM raw.usage_events
            WHERE landing_date >= $first AND landing_date < $day GROUP BY ALL
        ),
        days AS (SELECT count(DISTINCT landing_date) AS n FROM earlier),
        steady AS (
            SELECT account_id FROM earlier GROUP BY account_id
            HAVING count(*) = (SELECT n FROM days) AND (SELECT n FROM days) >= 3 AND min(events) >= $min_events
        )
        SELECT s.account_id, count(e.account_id) AS events_today
        FROM steady s LEFT JOIN raw.usage_events e ON e.account_id = s.account_id AND e.landing_date = $day
        GROUP BY ALL ORDER BY ALL""", {**params, "min_events": settings.silent_account_min_daily_events})
    return frames


def _expectations(settings: IngestSettings) -> dict:
    import great_expectations as gx

    return {
        "quarantined_share": (gx.expectations.ExpectColumnValuesToBeBetween(column="share", max_value=settings.quarantined_share_max),
                              f"share of a file's lines quarantined per reason <= {settings.quarantined_share_max:.0%}"),
        "quantity_distribution": (gx.expectations.ExpectColumnValuesToBeBetween(column="fold", max_value=settings.quantity_median_ratio_max),
                                  f"median quantity per metric within {settings.quantity_median_ratio_max:g}x of the trailing days'"),
        "late_event_share": (gx.expectations.ExpectColumnValuesToBeBetween(column="share", max_value=settings.late_event_share_max),
                             f"share of events landing after their own day <= {settings.late_event_share_max:.0%}"),
        "silent_accounts": (gx.expectations.ExpectColumnValuesToBeBetween(column="events_today", min_value=1),
                            f"accounts with >= {settings.silent_account_min_daily_events} events every trailing day send some today"),
    }


def validate_day(frames: dict[str, pd.DataFrame], settings: IngestSettings) -> list[ExpectationOutcome]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # they would flood the run log
    source = context.data_sources.add_pandas("landing_day")
    outcomes = []
    for name, (expectation, summary) in _expectations(settings).items():
        frame = frames[name]
        batch = (source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
                 .get_batch(batch_parameters={"dataframe": frame}))
        result = batch.validate(expectation, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]})
        failed_rows = {item[ROW] for item in result.result.get("unexpected_index_list") or []}
        failures = [row for row in frame.to_dict("records") if row[ROW] in failed_rows]
        outcomes.append(ExpectationOutcome(name, settings.severity(name), bool(result.success), len(frame), failures, summary))
    return outcomes
