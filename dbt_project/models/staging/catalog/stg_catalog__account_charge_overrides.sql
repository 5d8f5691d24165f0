select
    account_id,
    metric_code as metric,
    model,
    unit_price,
    package_size,
    package_price,
    flat_fee,
    has_tiers
from {{ source('catalog', 'account_charge_overrides') }}
