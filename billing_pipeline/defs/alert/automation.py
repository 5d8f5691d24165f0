"""When usage alerts run in Dagster: on the latest day, once the open month's rating has updated
fct_quota_status and none of the alerts' inputs failed a blocking check.

Asset-based, not a sensor on the rating job: a wrong rating (a blocking dbt test failed) sends no
alerts, and whatever updates the quota status (schedule, backfill, the UI) is followed alike.
"""

import dagster as dg

QUOTA_STATUS = dg.AssetSelection.assets("fct_quota_status")

AFTER_RATING = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated()).allow(QUOTA_STATUS).since_last_handled()
    & ~dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.any_checks_match(dg.AutomationCondition.check_failed(), blocking_only=True))
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after the open month's rating, unless a blocking check of an input failed")
