-- Base fee and minimum charge of every segment, prorated by segment days / days in the month.
-- Trial segments bill nothing.
select
    segment.segment_id,
    segment.account_id,
    segment.period,
    segment.is_rerate,
    segment.invoice_period,
    segment.plan_code,
    plan.plan_name,
    segment.segment_start,
    segment.segment_end,
    segment.segment_days,
    segment.days_in_period,
    segment.is_trial,
    currency.currency,
    case
        when segment.is_trial then 0
        else {{ to_minor_units('plan.base_fee * segment.segment_days', 'currency.minor_per_major', 'segment.days_in_period') }}
    end as base_fee_cents,
    case
        when segment.is_trial then 0
        else {{ to_minor_units('plan.minimum_charge * segment.segment_days', 'currency.minor_per_major', 'segment.days_in_period') }}
    end as minimum_charge_cents
from {{ ref('int_subscription_segments') }} as segment
inner join {{ ref('stg_catalog__plans') }} as plan on segment.plan_code = plan.plan_code
inner join {{ ref('int_account_currencies') }} as currency on segment.account_id = currency.account_id
