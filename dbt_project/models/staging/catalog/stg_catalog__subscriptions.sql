select
    subscription_id,
    account_id,
    plan_code,
    starts_on,
    ends_on,
    trial_days,
    -- first day no longer in trial (exclusive, like ends_on)
    starts_on + coalesce(trial_days, 0) as trial_ends_on
from {{ source('catalog', 'subscriptions') }}
