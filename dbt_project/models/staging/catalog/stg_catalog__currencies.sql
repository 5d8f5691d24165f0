select
    currency,
    minor_unit_exponent,
    -- exact for every ISO 4217 exponent (0-4)
    cast(pow(10, minor_unit_exponent) as bigint) as minor_per_major
from {{ source('catalog', 'currencies') }}
