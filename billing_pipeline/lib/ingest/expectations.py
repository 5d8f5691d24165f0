"""The Great Expectations suite every landed day's loaded rows must meet.

GX takes ~20 s to import here, so it is imported inside the function, and it validates a pandas frame
pulled from DuckDB (its SQL path through duckdb-engine is broken, GX issue 10738).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd


@dataclass(frozen=True)
class SuiteResult:
    success: bool
    evaluated: int
    failed: list[str]


def validate_loaded_day(frame: pd.DataFrame, day: date, accounts: list[str], metrics: list[str]) -> SuiteResult:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # they would flood the run log
    batch = (context.data_sources.add_pandas("warehouse")
             .add_dataframe_asset("raw_usage_events")
             .add_batch_definition_whole_dataframe("landing_day")
             .get_batch(batch_parameters={"dataframe": frame}))
    # A usage record from after its landing day means a client clock is wrong: billing it would
    # move usage into the wrong period, so it blocks.
    latest_allowed = datetime.combine(day + timedelta(days=1), time(1, 0))
    suite = gx.ExpectationSuite(name="raw_usage_events", expectations=[
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="event_id"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="account_id", value_set=accounts),
        gx.expectations.ExpectColumnValuesToBeInSet(column="metric", value_set=metrics),
        gx.expectations.ExpectColumnValuesToBeBetween(column="quantity", min_value=0, max_value=1e12),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="occurred_at"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="occurred_at", max_value=latest_allowed),
    ])
    result = batch.validate(suite)
    failed = [f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})"
              for r in result.results if not r.success]
    return SuiteResult(bool(result.success), len(result.results), failed)
