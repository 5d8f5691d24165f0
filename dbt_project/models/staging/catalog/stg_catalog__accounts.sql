select
    account_id,
    name as account_name,
    email,
    status as account_status,
    stripe_customer_id
from {{ source('catalog', 'accounts') }}
