{#
  Credits, month by month: each grant's balance is carried from the previous month, consumed by
  the invoice's amount due after discounts (earliest expiry first, then earliest granted), never
  below zero, and what is left expires at the end of the last month it is valid in.
  Months depend on each other, so the window's months are unrolled in order at compile time;
  the chain starts from the balances this table holds for the months before the first one rated,
  and months of the window already issued pass balances through untouched.
#}
{%- set months = window_months() %}

with grants as (
    select
        grant.grant_id,
        grant.account_id,
        grant.kind,
        grant.granted_on,
        grant.expires_on,
        currency.currency,
        {{ to_minor_units('grant.amount', 'currency.minor_per_major') }} as amount_cents
    from {{ ref('stg_catalog__credit_grants') }} as grant
    inner join {{ ref('int_account_currencies') }} as currency on grant.account_id = currency.account_id
),

rated_months as (
    select period from {{ ref('int_billing_periods') }} where not was_issued
),

carried as (
{%- if is_incremental() %}
    select grant_id, closing_cents
    from (
        select grant_id, closing_cents, row_number() over (partition by grant_id order by period desc) as recency
        from {{ this }}
        where period < (select min(period) from rated_months)
    ) as earlier
    where recency = 1
{%- else %}
    select cast(null as string) as grant_id, cast(null as bigint) as closing_cents
    where false
{%- endif %}
),

dues as (
    select invoice_period as period, account_id, greatest(sum(amount_cents), 0) as due_cents
    from {{ ref('int_invoice_lines__before_credits') }}
    group by all
),

state_0 as (
    select
        grants.*,
        carried.grant_id is not null as seen_before,
        coalesce(carried.closing_cents, grants.amount_cents) as balance_cents
    from grants
    left join carried on grants.grant_id = carried.grant_id
)

{%- for month in months %}
{%- set i = loop.index %}
, month_{{ i }} as (
    select
        state.*,
        '{{ month[0] }}' as period,
        rated.period is not null as is_rated,
        rated.period is not null and state.granted_on < date '{{ month[2] }}' as is_granted,
        rated.period is not null and state.granted_on < date '{{ month[2] }}'
            and (state.expires_on is null or state.expires_on > date '{{ month[1] }}') as is_usable,
        state.expires_on is not null and state.expires_on <= date '{{ month[2] }}' as expires_this_month,
        coalesce(dues.due_cents, 0) as due_cents
    from state_{{ i - 1 }} as state
    -- an issued month of the window is already in this table: balances pass through it
    left join rated_months as rated on rated.period = '{{ month[0] }}'
    left join dues on dues.account_id = state.account_id and dues.period = '{{ month[0] }}'
),

consumed_{{ i }} as (
    select
        *,
        case
            when is_usable then least(
                balance_cents,
                greatest(
                    due_cents - coalesce(sum(case when is_usable then balance_cents else 0 end) over (
                        partition by account_id
                        order by expires_on nulls last, granted_on, grant_id
                        rows between unbounded preceding and 1 preceding
                    ), 0),
                    0
                )
            )
            else 0
        end as consumed_cents
    from month_{{ i }}
),

balances_{{ i }} as (
    select
        *,
        case when seen_before then balance_cents else 0 end as opening_cents,
        case when is_granted and not seen_before then amount_cents else 0 end as granted_cents,
        case when is_granted and expires_this_month then balance_cents - consumed_cents else 0 end as expired_cents
    from consumed_{{ i }}
),

state_{{ i }} as (
    select
        grant_id, account_id, kind, granted_on, expires_on, currency, amount_cents,
        seen_before or is_granted as seen_before,
        balance_cents - consumed_cents - expired_cents as balance_cents
    from balances_{{ i }}
)
{%- endfor %}

{%- if months | length > 0 %}
{%- for month in months %}
select
    grant_id,
    account_id,
    kind,
    granted_on,
    expires_on,
    currency,
    period,
    cast(opening_cents as bigint) as opening_cents,
    cast(granted_cents as bigint) as granted_cents,
    cast(consumed_cents as bigint) as consumed_cents,
    cast(expired_cents as bigint) as expired_cents,
    cast(opening_cents + granted_cents - consumed_cents - expired_cents as bigint) as closing_cents
from balances_{{ loop.index }}
-- a grant shows from the month it is granted until the month it is used up or expires
where is_granted and (opening_cents > 0 or granted_cents > 0)
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- else %}
select
    grant_id, account_id, kind, granted_on, expires_on, currency,
    cast(null as string) as period,
    cast(0 as bigint) as opening_cents, cast(0 as bigint) as granted_cents, cast(0 as bigint) as consumed_cents,
    cast(0 as bigint) as expired_cents, cast(0 as bigint) as closing_cents
from state_0
where false
{%- endif %}
