{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_catalog__subscriptions'}}}) }}
-- Data quality, not blocking: a cancelled account keeps being billed until its subscription's
-- ends_on, so an open-ended subscription on a cancelled account is probably a missing end date.
select account.account_id, subscription.subscription_id
from {{ ref('stg_catalog__accounts') }} as account
inner join {{ ref('stg_catalog__subscriptions') }} as subscription on account.account_id = subscription.account_id
where account.account_status = 'cancelled' and subscription.ends_on is null
