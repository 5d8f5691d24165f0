-- The window's open invoices, line by line: charges, discount, adjustments, then credits.
with lines as (
    select
        account_id,
        invoice_period as period,
        segment_id,
        line_type,
        line_key,
        metric,
        plan_code,
        quantity,
        included_quantity,
        billable_quantity,
        amount_cents,
        is_trial,
        usage_start,
        usage_end,
        description,
        adjusts_period,
        late_event_count,
        cast(null as string) as grant_id
    from {{ ref('int_invoice_lines__before_credits') }}

    union all

    select
        account_id,
        period,
        cast(null as string) as segment_id,
        'credit' as line_type,
        'credit:' || grant_id as line_key,
        cast(null as string) as metric,
        cast(null as string) as plan_code,
        cast(null as decimal(38, 9)) as quantity,
        cast(null as decimal(38, 9)) as included_quantity,
        cast(null as decimal(38, 9)) as billable_quantity,
        -consumed_cents as amount_cents,
        false as is_trial,
        cast(null as date) as usage_start,
        cast(null as date) as usage_end,
        'Credit ' || grant_id || ' (' || kind || ')' as description,
        cast(null as string) as adjusts_period,
        cast(null as bigint) as late_event_count,
        grant_id
    from {{ ref('fct_credit_balances') }}
    where consumed_cents > 0
),

with_ids as (
    select
        -- the same account and period always get the same invoice id, run after run
        'INV-' || replace(period, '-', '') || '-' || account_id as invoice_id,
        *
    from lines
)

select
    invoice_id,
    invoice_id || '/' || line_key as line_id,
    -- BIGINT on every engine (Spark's row_number is an INT)
    cast(row_number() over (
        partition by invoice_id
        order by
            case line_type
                when 'base_fee' then 1 when 'usage' then 2 when 'minimum' then 3
                when 'discount' then 4 when 'adjustment' then 5 else 6
            end,
            usage_start nulls last,
            line_key
    ) as bigint) as line_number,
    account_id,
    period,
    line_type,
    metric,
    plan_code,
    quantity,
    included_quantity,
    billable_quantity,
    cast(amount_cents as bigint) as amount_cents,
    is_trial,
    description,
    usage_start,
    usage_end,
    segment_id,
    adjusts_period,
    cast(late_event_count as bigint) as late_event_count,
    grant_id,
    line_key
from with_ids
