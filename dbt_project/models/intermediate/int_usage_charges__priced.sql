{#-
  Prices every segment's charges (DESIGN.md "Pricing rules"):
  billable = max(0, quantity capped at a hard limit - included); then
    per_unit   billable x unit_price
    graduated  each unit at its own tier's price, plus the flat_fee of every tier holding any of it
    volume     all units at the price of the tier holding the total, plus that tier's flat_fee
    package    ceil(billable / package_size) x package_price
    flat       flat_fee once when billable > 0
  A tier holds billable quantities in (from_quantity, up_to]. Billable 0 costs nothing in every model.
  Trial segments are priced for the record and bill 0.
-#}
with limited as (
    select
        *,
        -- hard limits refuse usage beyond them, so nothing over the limit is billed
        case
            when enforcement = 'hard' and usage_limit is not null then least(quantity, usage_limit)
            else quantity
        end as limited_quantity
    from {{ ref('int_usage_charges') }}
),

billable as (
    select
        *,
        greatest(limited_quantity - included_quantity, 0) as billable_quantity
    from limited
),

tiered as (
    select
        billable.segment_id,
        billable.metric,
        sum(
            case
                when billable.model = 'graduated' then
                    {{ exact('in_tier.units * tier.unit_price') }}
                    + case when in_tier.units > 0 then {{ exact('tier.flat_fee') }} else {{ exact(0) }} end
                when billable.model = 'volume'
                    and billable.billable_quantity > tier.from_quantity
                    and (tier.up_to is null or billable.billable_quantity <= tier.up_to) then
                    {{ exact('billable.billable_quantity * tier.unit_price') }} + {{ exact('tier.flat_fee') }}
                else {{ exact(0) }}
            end
        ) as amount
    from billable
    inner join {{ ref('int_charge_tiers__effective') }} as tier
        on billable.account_id = tier.account_id
        and billable.plan_code = tier.plan_code
        and billable.metric = tier.metric
    cross join lateral (
        select greatest(
            least(billable.billable_quantity, coalesce(tier.up_to, billable.billable_quantity)) - tier.from_quantity,
            0
        ) as units
    ) as in_tier
    where billable.model in ('graduated', 'volume')
    group by billable.segment_id, billable.metric
),

priced as (
    select
        billable.*,
        case billable.model
            when 'per_unit' then {{ exact('billable.billable_quantity * billable.unit_price') }}
            when 'package' then
                {{ exact(packages_needed('billable.billable_quantity', 'billable.package_size') ~ ' * billable.package_price') }}
            when 'flat' then
                case when billable.billable_quantity > 0 then {{ exact('billable.flat_fee') }} else {{ exact(0) }} end
            else coalesce(tiered.amount, {{ exact(0) }})
        end as rated_amount
    from billable
    left join tiered on billable.segment_id = tiered.segment_id and billable.metric = tiered.metric
)

select
    *,
    quantity - limited_quantity as refused_quantity,
    {{ to_minor_units('rated_amount', 'minor_per_major') }} as rated_amount_cents,
    case when is_trial then 0 else {{ to_minor_units('rated_amount', 'minor_per_major') }} end as amount_cents
from priced
