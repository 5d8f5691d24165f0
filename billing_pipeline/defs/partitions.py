"""The two partitionings of the pipeline, defined once and imported everywhere.

Daily partitions are *landing* days (the folder a file arrived in); monthly partitions are billing
periods (UTC calendar months of occurred_at). The start date is where the bundled sample begins;
BILLING_START_DATE is not read here because partitions must be fixed at definition time.
"""

import dagster as dg

START_DATE = "2026-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=START_DATE, end_offset=1)
