{{ config(severity='warn', meta={'description': 'usage on days no subscription covers: metered, never billed (see fct_usage_monthly.uncovered_event_count)'}) }}
-- Data quality, not blocking: usage on days no subscription covers is metered but never billed.
-- Read from fct_usage_monthly, which keeps every rated month: int_usage__segments holds only the
-- months of the latest rating window, so the same data would report fewer rows once months close.
select account_id, metric, period, uncovered_event_count, first_usage_date, last_usage_date
from {{ ref('fct_usage_monthly') }}
where uncovered_event_count > 0
