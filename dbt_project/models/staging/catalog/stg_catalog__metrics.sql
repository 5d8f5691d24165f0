select
    metric_code as metric,
    name as metric_name,
    unit,
    aggregation,
    field as unique_field
from {{ source('catalog', 'metrics') }}
