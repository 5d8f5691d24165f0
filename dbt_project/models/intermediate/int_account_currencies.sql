-- The currency each account is invoiced in: its plans' (one per account), else the catalog's only one.
with from_plans as (
    select distinct subscription.account_id, plan.currency
    from {{ ref('stg_catalog__subscriptions') }} as subscription
    inner join {{ ref('stg_catalog__plans') }} as plan on subscription.plan_code = plan.plan_code
),

catalog_default as (
    select min(currency) as currency
    from {{ ref('stg_catalog__plans') }}
    having count(distinct currency) = 1
)

select
    account.account_id,
    currency.currency,
    currency.minor_per_major
from {{ ref('stg_catalog__accounts') }} as account
left join from_plans on account.account_id = from_plans.account_id
left join catalog_default on true
inner join {{ ref('stg_catalog__currencies') }} as currency
    on currency.currency = coalesce(from_plans.currency, catalog_default.currency)
