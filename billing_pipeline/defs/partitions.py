"""The two partitionings of the pipeline, defined once and imported everywhere.

Daily partitions are *landing* days (the folder a file arrived in); monthly partitions are billing
periods (UTC calendar months of occurred_at). Both start where the data folder's billing starts
(lib/data_start.py: BILLING_START_DATE, else the earliest subscription's month). Dagster fixes
partitions when the definitions load, so this module reads BILLING_DATA_DIR then: the one place
the definitions depend on the environment at load rather than at run time. Both end today (UTC).
"""

import dagster as dg

from billing_pipeline.lib.data_start import data_start_from_environment

START_DATE = data_start_from_environment().isoformat()

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=START_DATE, end_offset=1)
