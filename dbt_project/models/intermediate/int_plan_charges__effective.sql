-- The charges each account pays under each plan it is rated on: the plan's, with the account's
-- custom prices replacing any field they set.
with account_plans as (
    select distinct account_id, plan_code
    from {{ ref('int_subscription_segments') }}
)

select
    account_plans.account_id,
    account_plans.plan_code,
    charge.metric,
    coalesce(custom.model, charge.model) as model,
    charge.included,
    charge.usage_limit,
    charge.enforcement,
    coalesce(custom.unit_price, charge.unit_price) as unit_price,
    coalesce(custom.package_size, charge.package_size) as package_size,
    coalesce(custom.package_price, charge.package_price) as package_price,
    coalesce(custom.flat_fee, charge.flat_fee) as flat_fee,
    coalesce(custom.has_tiers, false) as has_custom_tiers,
    custom.account_id is not null as has_custom_price
from account_plans
inner join {{ ref('stg_catalog__plan_charges') }} as charge on account_plans.plan_code = charge.plan_code
left join {{ ref('stg_catalog__account_charge_overrides') }} as custom
    on account_plans.account_id = custom.account_id and charge.metric = custom.metric
