-- depends_on: {{ ref('int_usage__daily_history') }}
{#
  Accounts and issued periods to re-rate because events of that period landed after its invoice
  was priced. Every invoice and adjustment line records how many late-landed events it priced
  (late = landed on or after the first day of the next month); more of them now means new usage.
-#}
with issued as (
    select * from {{ ref('int_issued_periods') }}
),

first_rated as (
    -- adjustments land on the first invoice not issued yet; this run only writes the window's
    select min(period) as period, min(period_start) as period_start
    from {{ ref('int_billing_periods') }}
    where not was_issued
),

late_events as (
{%- if execute and run_query("select count(*) from " ~ ref('int_issued_periods')).rows[0][0] > 0 %}
    -- from the incremental daily history: no event is read here
    select
        account_id,
        period,
        sum(late_event_count) as late_event_count
    from {{ ref('int_usage__daily_history') }}
    where usage_date < (select max(period_end) from issued)
    group by all
    having sum(late_event_count) > 0
{%- else %}
    -- nothing is issued yet, so nothing can be late: skip the scan
    select cast(null as string) as account_id, cast(null as string) as period, cast(null as bigint) as late_event_count
    where false
{%- endif %}
),

accounted as (
    select account_id, period, max(late_event_count) as late_event_count
    from (
        select account_id, period, late_event_count from {{ ref('int_issued_invoices') }}
        union all
        select account_id, adjusts_period, late_event_count
        from {{ ref('int_issued_invoice_lines') }}
        where line_type = 'adjustment'
    )
    group by all
)

select
    late_events.account_id,
    late_events.period,
    issued.period_start,
    issued.period_end,
    {{ date_diff('day', 'issued.period_start', 'issued.period_end') }} as days_in_period,
    first_rated.period as target_period,
    late_events.late_event_count,
    late_events.late_event_count - accounted.late_event_count as new_late_event_count
from late_events
inner join issued on late_events.period = issued.period
-- an account without an issued invoice for the period had no subscription: late usage stays unbilled
inner join accounted
    on late_events.account_id = accounted.account_id and late_events.period = accounted.period
cross join first_rated
where late_events.late_event_count > accounted.late_event_count
  and late_events.period < first_rated.period
  -- every month between the period and the target is issued, so the target is the next open invoice
  and {{ date_diff('month', 'issued.period_start', 'first_rated.period_start') }} - 1 = (
      select count(*) from issued as between_months
      where between_months.period > late_events.period and between_months.period < first_rated.period
  )
