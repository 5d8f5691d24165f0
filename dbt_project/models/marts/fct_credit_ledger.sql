-- The credit ledger: one entry per grant, consumption and expiry, with the balance after it.
with balances as (
    select
        *,
        cast(cast(period || '-01' as date) + interval 1 month as date) as period_end
    from {{ ref('fct_credit_balances') }}
),

entries as (
    select
        grant_id, account_id, kind, currency, period,
        1 as entry_order,
        'grant' as entry_type,
        granted_on as entry_date,
        granted_cents as amount_cents,
        opening_cents + granted_cents as balance_after_cents
    from balances
    where granted_cents > 0

    union all

    select
        grant_id, account_id, kind, currency, period,
        2 as entry_order,
        'consumption' as entry_type,
        -- credits pay the invoice issued when the month ends
        period_end as entry_date,
        -consumed_cents as amount_cents,
        opening_cents + granted_cents - consumed_cents as balance_after_cents
    from balances
    where consumed_cents > 0

    union all

    select
        grant_id, account_id, kind, currency, period,
        3 as entry_order,
        'expiry' as entry_type,
        least(expires_on, period_end) as entry_date,
        -expired_cents as amount_cents,
        closing_cents as balance_after_cents
    from balances
    where expired_cents > 0
)

select
    grant_id || ':' || period || ':' || entry_type as entry_id,
    grant_id,
    account_id,
    kind,
    currency,
    period,
    entry_type,
    entry_date,
    amount_cents,
    balance_after_cents,
    entry_order
from entries
