-- Accounts with their currency, discount and the plan in force on the run's as_of date.
with current_subscription as (
    select account_id, subscription_id, plan_code, starts_on, ends_on
    from {{ ref('stg_catalog__subscriptions') }}
    where starts_on <= date '{{ window_var("as_of") }}'
      and (ends_on is null or ends_on > date '{{ window_var("as_of") }}')
)

select
    account.account_id,
    account.account_name,
    account.email,
    account.account_status,
    account.stripe_customer_id,
    currency.currency,
    coalesce(discount.discount_percent, 0) as discount_percent,
    current_subscription.subscription_id as current_subscription_id,
    current_subscription.plan_code as current_plan_code,
    exists (
        select 1 from {{ ref('stg_catalog__account_charge_overrides') }} as custom
        where custom.account_id = account.account_id
    ) as has_custom_prices
from {{ ref('stg_catalog__accounts') }} as account
left join {{ ref('int_account_currencies') }} as currency on account.account_id = currency.account_id
left join {{ ref('stg_catalog__account_discounts') }} as discount on account.account_id = discount.account_id
left join current_subscription on account.account_id = current_subscription.account_id
