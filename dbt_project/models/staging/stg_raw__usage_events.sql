-- A view: the events are scanned once, by int_usage__event_values, never copied.
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
