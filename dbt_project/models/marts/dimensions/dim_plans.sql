-- Plans with their fees in minor units and what they charge for.
select
    plan.plan_code,
    plan.plan_name,
    plan.currency,
    plan.base_fee,
    {{ to_minor_units('plan.base_fee', 'currency.minor_per_major') }} as base_fee_cents,
    plan.minimum_charge,
    {{ to_minor_units('plan.minimum_charge', 'currency.minor_per_major') }} as minimum_charge_cents,
    plan.trial_days,
    (
        select {{ sorted_list('charge.metric') }}
        from {{ ref('stg_catalog__plan_charges') }} as charge
        where charge.plan_code = plan.plan_code
    ) as charged_metrics
from {{ ref('stg_catalog__plans') }} as plan
inner join {{ ref('stg_catalog__currencies') }} as currency on plan.currency = currency.currency
