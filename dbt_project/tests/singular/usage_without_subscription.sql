{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_usage__segments'}}}) }}
-- Data quality, not blocking: usage on days no subscription covers is metered but never billed.
select account_id, metric, period, event_count, first_usage_date, last_usage_date
from {{ ref('int_usage__segments') }}
where not is_covered and not is_rerate
