select
    account_id,
    discount_percent
from {{ source('catalog', 'account_discounts') }}
