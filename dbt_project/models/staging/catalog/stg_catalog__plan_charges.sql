select
    plan_code,
    metric_code as metric,
    model,
    included,
    usage_limit,
    coalesce(enforcement, 'soft') as enforcement,
    unit_price,
    package_size,
    package_price,
    flat_fee
from {{ source('catalog', 'plan_charges') }}
