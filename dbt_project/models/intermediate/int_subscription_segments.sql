{#-
  A segment is the run of days in a period under one subscription, split at the end of its trial.
  Segments of re-rated (issued) periods are built only for the accounts being re-rated.
-#}
with covered as (
    select
        subscription.subscription_id,
        subscription.account_id,
        subscription.plan_code,
        subscription.trial_ends_on,
        period.period,
        period.period_start,
        period.period_end,
        period.days_in_period,
        period.is_rerate,
        period.invoice_period,
        greatest(subscription.starts_on, period.period_start) as covered_from,
        least(coalesce(subscription.ends_on, period.period_end), period.period_end) as covered_until
    from {{ ref('stg_catalog__subscriptions') }} as subscription
    inner join {{ ref('int_rated_periods') }} as period
        on subscription.starts_on < period.period_end
        and (subscription.ends_on is null or subscription.ends_on > period.period_start)
    left join {{ ref('int_rerate_pairs') }} as rerate
        on rerate.account_id = subscription.account_id and rerate.period = period.period
    where not period.is_rerate or rerate.account_id is not null
),

pieces as (
    select *, covered_from as segment_start, least(covered_until, trial_ends_on) as segment_end, true as is_trial
    from covered
    where covered_from < least(covered_until, trial_ends_on)

    union all

    select *, greatest(covered_from, trial_ends_on) as segment_start, covered_until as segment_end, false as is_trial
    from covered
    where greatest(covered_from, trial_ends_on) < covered_until
)

select
    subscription_id || '@' || cast(segment_start as string) as segment_id,
    subscription_id,
    account_id,
    plan_code,
    period,
    period_start,
    period_end,
    days_in_period,
    is_rerate,
    invoice_period,
    segment_start,
    segment_end,
    {{ date_diff('day', 'segment_start', 'segment_end') }} as segment_days,
    is_trial
from pieces
