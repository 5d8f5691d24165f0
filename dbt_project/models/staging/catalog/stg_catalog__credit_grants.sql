select
    grant_id,
    account_id,
    amount,
    granted_on,
    expires_on,
    kind
from {{ source('catalog', 'credit_grants') }}
