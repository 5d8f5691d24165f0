select
    plan_code,
    metric_code as metric,
    tier_index,
    from_quantity,
    up_to,
    unit_price,
    coalesce(flat_fee, 0) as flat_fee
from {{ source('catalog', 'plan_tiers') }}
