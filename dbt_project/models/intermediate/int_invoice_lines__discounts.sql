-- The account discount of every rated account-period: a percentage of its charge lines,
-- rounded half-up to a whole minor unit, as one negative line.
with charges as (
    select account_id, period, is_rerate, invoice_period, sum(amount_cents) as charges_cents
    from {{ ref('int_invoice_lines__charges') }}
    group by all
),

discounts as (
    select
        charges.*,
        discount.discount_percent,
        {{ to_minor_units('charges.charges_cents * discount.discount_percent', 1, 100) }} as discount_cents
    from charges
    inner join {{ ref('stg_catalog__account_discounts') }} as discount on charges.account_id = discount.account_id
)

select
    account_id,
    period,
    is_rerate,
    invoice_period,
    cast(null as string) as segment_id,
    'discount' as line_type,
    'discount' as line_key,
    cast(null as string) as metric,
    cast(null as string) as plan_code,
    cast(null as decimal(38, 9)) as quantity,
    cast(null as decimal(38, 9)) as included_quantity,
    cast(null as decimal(38, 9)) as billable_quantity,
    -discount_cents as amount_cents,
    false as is_trial,
    cast(null as date) as usage_start,
    cast(null as date) as usage_end,
    'Discount ' || trim(trailing '.' from trim(trailing '0' from cast(discount_percent as string))) || '%' as description
from discounts
where discount_cents > 0
