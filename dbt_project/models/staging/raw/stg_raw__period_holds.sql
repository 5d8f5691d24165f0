-- Periods a failed blocking ingestion check holds from closing, with why and where.
select period, reason, landing_date, source_file, line_number, detail
from {{ source('raw', 'period_holds') }}
