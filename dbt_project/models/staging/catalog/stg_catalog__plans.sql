select
    plan_code,
    name as plan_name,
    currency,
    base_fee,
    trial_days,
    minimum_charge
from {{ source('catalog', 'plans') }}
