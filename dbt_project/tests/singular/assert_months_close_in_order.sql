{{ config(meta={'dagster': {'ref': {'name': 'int_billing_periods'}}}) }}
-- A month may only close once every earlier closed month since the first subscription is issued
-- (or closes in the same run): credits carry over and late events land on the next open invoice,
-- both of which need months issued in order.
with closing as (
    select period, period_start from {{ ref('int_billing_periods') }} where closes_now
),

earlier_months as (
    select {{ period_of('month_start') }} as period
    from {{ month_starts(
        "(select cast(date_trunc('month', min(starts_on)) as date) from " ~ ref('stg_catalog__subscriptions') ~ ")",
        "(select max(period_start) from closing)") }} as months
)

select earlier_months.period as unissued_earlier_month
from earlier_months
where earlier_months.period not in (select period from {{ ref('int_issued_periods') }})
  and earlier_months.period not in (select period from closing)
