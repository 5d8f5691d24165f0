-- depends_on: {{ ref('int_usage__distinct_values_history') }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('int_rerate_pairs') }}
-- The distinct values of every period this run prices, from the incremental history: no event is read here.
{{ priced_usage('int_usage__distinct_values_history') }}
