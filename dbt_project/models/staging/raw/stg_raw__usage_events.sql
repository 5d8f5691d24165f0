-- A view: the rating scans the events (int_usage__daily, int_usage__distinct_values), never copies them.
select
    event_id,
    account_id,
    metric,
    quantity,
    occurred_at,
    cast(occurred_at as date) as usage_date,
    user_id,
    endpoint,
    request_id,
    properties,
    landing_date,
    source_file,
    line_number
from {{ source('raw', 'usage_events_loaded') }}
