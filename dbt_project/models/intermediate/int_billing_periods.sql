-- The months of the rating window and where each stands on the run's as_of date.
with months as (
    select month_start as period_start
    from {{ month_starts("date '" ~ window_var('period_start') ~ "'", "date '" ~ window_var('period_end') ~ "'") }} as months
),

periods as (
    select
        {{ period_of('period_start') }} as period,
        period_start,
        cast(period_start + interval 1 month as date) as period_end,
        date '{{ window_var("as_of") }}' as as_of
    from months
    -- a month that has not started yet has nothing to rate
    where period_start <= date '{{ window_var("as_of") }}'
),

-- A failed blocking ingestion check holds the periods its rows belong to (raw.period_holds): they
-- are rated but not issued. Months close in order, so later months wait for the first held one.
held as (
    select distinct period from {{ ref('stg_raw__period_holds') }}
    where period not in (select period from {{ ref('int_issued_periods') }})
)

select
    periods.period,
    periods.period_start,
    periods.period_end,
    {{ date_diff('day', 'periods.period_start', 'periods.period_end') }} as days_in_period,
    periods.as_of,
    periods.period_end + {{ window_var("grace_days") }} <= periods.as_of as is_closed,
    periods.as_of < periods.period_end as is_open,
    issued.period is not null as was_issued,
    issued.issued_on,
    periods.period in (select period from held) as is_held,
    issued.period is null and periods.period_end + {{ window_var("grace_days") }} <= periods.as_of
        and periods.period < coalesce((select min(period) from held), '9999-12') as closes_now
from periods
left join {{ ref('int_issued_periods') }} as issued on periods.period = issued.period
