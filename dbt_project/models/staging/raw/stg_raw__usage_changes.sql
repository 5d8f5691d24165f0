-- The (usage day, account) pairs each ingestion load may have changed: what the incremental usage
-- models rebuild (macros/changes.sql).
select distinct load_id, usage_date, account_id
from {{ source('raw', 'usage_changes') }}
