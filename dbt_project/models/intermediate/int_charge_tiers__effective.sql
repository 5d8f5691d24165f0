-- The tiers each account's graduated and volume charges use: its own when it has custom tiers.
select
    charge.account_id,
    charge.plan_code,
    charge.metric,
    tier.tier_index,
    tier.from_quantity,
    tier.up_to,
    tier.unit_price,
    tier.flat_fee
from {{ ref('int_plan_charges__effective') }} as charge
inner join {{ ref('stg_catalog__plan_tiers') }} as tier
    on charge.plan_code = tier.plan_code and charge.metric = tier.metric
where not charge.has_custom_tiers

union all

select
    charge.account_id,
    charge.plan_code,
    charge.metric,
    tier.tier_index,
    tier.from_quantity,
    tier.up_to,
    tier.unit_price,
    tier.flat_fee
from {{ ref('int_plan_charges__effective') }} as charge
inner join {{ ref('stg_catalog__account_tier_overrides') }} as tier
    on charge.account_id = tier.account_id and charge.metric = tier.metric
where charge.has_custom_tiers
