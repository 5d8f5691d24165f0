"""Detection: which alerts hold on an evaluation day, read from the rated warehouse.

Each rule looks only at what was known on `day` where the warehouse allows it, so a backfill of an
old day finds the alerts that day would have found (and the ledger's dedup key keeps it from
sending them again). Every comparison is exact decimal arithmetic: thresholds are multiplied out,
never divided.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable

import duckdb

from billing_pipeline.lib.alert.alert import Alert, canonical_threshold
from billing_pipeline.lib.alert.config import AlertRules
from billing_pipeline.lib.money import amount_text
from billing_pipeline.lib.periods import period_text
from billing_pipeline.lib.warehouse import relation_exists


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]



def _qty(value: Decimal) -> str:
    return canonical_threshold(value)


def quota_alerts(con: duckdb.DuckDBPyConnection, day: date, rules: AlertRules) -> list[Alert]:
    """Usage at or past each threshold percent of the limit (else of the included allowance) in the
    quota status of day's period, as last rated on or before day. Neither a limit nor anything
    included (or a base of 0): nothing to measure against, no alert."""
    rule = rules.quota
    rows = _rows(con, """
        WITH thresholds AS (SELECT CAST(unnest(?::VARCHAR[]) AS DECIMAL(9, 2)) AS threshold)
        SELECT q.account_id, q.metric, q.period, q.used, q.included, q."limit", q.enforcement, q.plan_code,
               q.is_trial, q.as_of, t.threshold, coalesce(q."limit", q.included) AS base,
               CASE WHEN q."limit" IS NULL THEN 'included allowance' ELSE 'limit' END AS basis
        FROM fct_quota_status AS q
        JOIN dim_accounts AS a ON a.account_id = q.account_id AND a.account_status = 'active'
        CROSS JOIN thresholds AS t
        WHERE q.period = ? AND q.as_of <= ?
          AND coalesce(q."limit", q.included) > 0
          AND q.used * 100 >= t.threshold * coalesce(q."limit", q.included)
        ORDER BY q.account_id, q.metric, t.threshold""",
        [[str(t) for t in rule.thresholds], period_text(day), day])
    return [Alert(
        account_id=r["account_id"], metric=r["metric"], kind="quota", threshold=r["threshold"], period=r["period"],
        message=f"{r['account_id']} has used {_qty(r['used'])} {r['metric']} in {r['period']}: "
                f"{_qty(r['threshold'])}% of its {r['basis']} of {_qty(r['base'])}",
        evaluated_for=day,
        payload={"used": r["used"], "included": r["included"], "limit": r["limit"], "basis": r["basis"],
                 "enforcement": r["enforcement"], "plan_code": r["plan_code"], "is_trial": r["is_trial"],
                 "status_as_of": r["as_of"]},
    ) for r in rows]


def low_credit_alerts(con: duckdb.DuckDBPyConnection, day: date, rules: AlertRules) -> list[Alert]:
    """The credit an account has left after its invoice of day's period so far (the sum of its grants'
    closing balances) is below `below_cents`, or below `below_percent` of what those grants granted."""
    rule = rules.low_credit
    if rule.below_cents is None and rule.below_percent is None:
        return []
    period = period_text(day)
    rows = _rows(con, """
        WITH live AS (SELECT grant_id, account_id, currency, closing_cents FROM fct_credit_balances WHERE period = ?),
        granted AS (
            SELECT grant_id, max(granted_cents) AS granted_cents FROM fct_credit_balances
            WHERE period <= ? AND grant_id IN (SELECT grant_id FROM live) GROUP BY grant_id
        )
        SELECT live.account_id, any_value(live.currency) AS currency, any_value(c.minor_unit_exponent) AS exponent,
               sum(live.closing_cents) AS balance_cents, sum(granted.granted_cents) AS granted_cents, count(*) AS grants
        FROM live
        JOIN granted USING (grant_id)
        JOIN catalog.currencies AS c ON c.currency = live.currency
        JOIN dim_accounts AS a ON a.account_id = live.account_id AND a.account_status = 'active'
        GROUP BY live.account_id
        HAVING sum(granted.granted_cents) > 0
           AND (sum(live.closing_cents) < ? OR sum(live.closing_cents) * 100 < ? * sum(granted.granted_cents))
        ORDER BY live.account_id""",
        [period, period, rule.below_cents if rule.below_cents is not None else -1,
         rule.below_percent if rule.below_percent is not None else Decimal(-1)])
    return [Alert(
        account_id=r["account_id"], metric=None, kind="low_credit", threshold=None, period=period,
        message=f"{r['account_id']} has {amount_text(r['balance_cents'], r['exponent'])} {r['currency'].upper()} of "
                f"prepaid credit left after {period} of {amount_text(r['granted_cents'], r['exponent'])} granted",
        evaluated_for=day,
        payload={"balance_cents": int(r["balance_cents"]), "granted_cents": int(r["granted_cents"]),
                 "currency": r["currency"], "grants": r["grants"], "below_cents": rule.below_cents,
                 "below_percent": rule.below_percent},
    ) for r in rows]


def trial_ending_alerts(con: duckdb.DuckDBPyConnection, day: date, rules: AlertRules) -> list[Alert]:
    """A trial that has started ends within `days_before` days: its first paid day is after day and
    no later than day + days_before, and the subscription goes on past it (one that ends with its
    trial never charges, so there is nothing to warn about)."""
    rule = rules.trial_ending
    rows = _rows(con, """
        SELECT s.account_id, s.subscription_id, s.plan_code, s.starts_on, s.trial_days,
               CAST(s.starts_on + s.trial_days AS DATE) AS trial_ends_on
        FROM catalog.subscriptions AS s
        JOIN dim_accounts AS a ON a.account_id = s.account_id AND a.account_status = 'active'
        WHERE s.trial_days > 0 AND s.starts_on <= ?
          AND s.starts_on + s.trial_days > ? AND s.starts_on + s.trial_days <= ?
          AND (s.ends_on IS NULL OR s.ends_on > s.starts_on + s.trial_days)
        ORDER BY s.account_id, s.starts_on""",
        [day, day, day + timedelta(days=rule.days_before)])
    return [Alert(
        account_id=r["account_id"], metric=None, kind="trial_ending", threshold=None,
        period=period_text(r["trial_ends_on"]),
        message=f"{r['account_id']}'s {r['plan_code']} trial ends in {(r['trial_ends_on'] - day).days} day(s): "
                f"billing starts on {r['trial_ends_on']}",
        evaluated_for=day,
        payload={"subscription_id": r["subscription_id"], "plan_code": r["plan_code"], "starts_on": r["starts_on"],
                 "trial_days": r["trial_days"], "trial_ends_on": r["trial_ends_on"],
                 "days_left": (r["trial_ends_on"] - day).days},
    ) for r in rows]


def anomaly_alerts(con: duckdb.DuckDBPyConnection, day: date, rules: AlertRules) -> list[Alert]:
    """The last complete day before `day` is far above the account-metric's trailing median:
    quantity > factor x the median of the `trailing_days` days before it (a day without usage counts
    as 0), quantity >= the metric's floor, and the account-metric has been in use since the start of
    that trailing window (no history, no baseline)."""
    rule = rules.anomaly
    usage_day, n = day - timedelta(days=1), rule.trailing_days
    floors = [{"metric": m, "floor": str(f)} for m, f in rule.min_quantity_by_metric.items()]
    # The median of n values is the mean of the two middle ones of the sorted list (the same one
    # when n is odd); comparing 2 x quantity with factor x their sum keeps it exact.
    rows = _rows(con, """
        WITH floors AS (
            SELECT f.metric, CAST(f.floor AS DECIMAL(18, 6)) AS floor
            FROM (SELECT unnest(?::STRUCT(metric VARCHAR, floor VARCHAR)[], recursive := true)) AS f
        ),
        target AS (
            SELECT u.account_id, u.metric, u.quantity
            FROM fct_usage_daily AS u
            JOIN dim_accounts AS a ON a.account_id = u.account_id AND a.account_status = 'active'
            LEFT JOIN floors ON floors.metric = u.metric
            WHERE u.usage_date = ? AND u.quantity >= coalesce(floors.floor, CAST(? AS DECIMAL(18, 6)))
        ),
        window_days AS (SELECT CAST(range AS DATE) AS usage_date FROM range(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY)),
        trail AS (
            SELECT t.account_id, t.metric, any_value(t.quantity) AS quantity,
                   list_sort(list(coalesce(u.quantity, 0))) AS history
            FROM target AS t
            CROSS JOIN window_days AS w
            LEFT JOIN fct_usage_daily AS u
                ON u.account_id = t.account_id AND u.metric = t.metric AND u.usage_date = w.usage_date
            GROUP BY t.account_id, t.metric
        ),
        first_use AS (
            SELECT account_id, metric, min(usage_date) AS first_usage_date FROM fct_usage_daily
            WHERE (account_id, metric) IN (SELECT (account_id, metric) FROM target) GROUP BY ALL
        )
        SELECT tr.account_id, tr.metric, tr.quantity, tr.history[?] AS low_middle, tr.history[?] AS high_middle,
               f.first_usage_date
        FROM trail AS tr
        JOIN first_use AS f USING (account_id, metric)
        WHERE f.first_usage_date <= CAST(? AS DATE)
          AND tr.quantity * 2 > CAST(? AS DECIMAL(18, 6)) * (tr.history[?] + tr.history[?])
        ORDER BY tr.account_id, tr.metric""",
        [floors, usage_day, str(rule.min_quantity), usage_day - timedelta(days=n), usage_day,
         (n + 1) // 2, n // 2 + 1, usage_day - timedelta(days=n), str(rule.factor), (n + 1) // 2, n // 2 + 1])
    alerts = []
    for r in rows:
        median = (r["low_middle"] + r["high_middle"]) / 2
        alerts.append(Alert(
            account_id=r["account_id"], metric=r["metric"], kind="anomaly", threshold=None, period=usage_day.isoformat(),
            message=f"{r['account_id']} used {_qty(r['quantity'])} {r['metric']} on {usage_day}, over {_qty(rule.factor)}x "
                    f"its {n}-day median of {_qty(median)}",
            evaluated_for=day,
            payload={"usage_date": usage_day, "quantity": r["quantity"], "trailing_median": median,
                     "trailing_days": n, "factor": rule.factor},
        ))
    return alerts


def payment_failed_alerts(con: duckdb.DuckDBPyConnection, day: date, rules: AlertRules) -> list[Alert]:
    """A published invoice whose latest payment event, on or before day, is invoice.payment_failed.
    No publication ledger yet means no failures."""
    if not relation_exists(con, "publish", "invoice_payment_status"):
        return []
    rows = _rows(con, """
        SELECT s.invoice_id, s.account_id, s.period, s.total_cents, p.currency, c.minor_unit_exponent AS exponent,
               s.stripe_invoice_id, s.failure_message, s.payment_event_at
        FROM publish.invoice_payment_status AS s
        JOIN publish.invoice_publications AS p USING (invoice_id)
        JOIN catalog.currencies AS c ON c.currency = p.currency
        WHERE s.payment_status = 'payment_failed' AND s.payment_event_at < ?
        ORDER BY s.account_id, s.period""",
        [day + timedelta(days=1)])
    return [Alert(
        account_id=r["account_id"], metric=None, kind="payment_failed", threshold=None, period=r["period"],
        message=f"Payment of {r['account_id']}'s invoice {r['invoice_id']} ({amount_text(r['total_cents'], r['exponent'])} "
                f"{r['currency'].upper()}) failed: {r['failure_message'] or 'no reason given'}",
        evaluated_for=day,
        payload={"invoice_id": r["invoice_id"], "total_cents": r["total_cents"], "currency": r["currency"],
                 "stripe_invoice_id": r["stripe_invoice_id"], "failure_message": r["failure_message"],
                 "failed_at": r["payment_event_at"]},
    ) for r in rows]


DETECTORS: dict[str, Callable[[duckdb.DuckDBPyConnection, date, AlertRules], list[Alert]]] = {
    "quota": quota_alerts,
    "low_credit": low_credit_alerts,
    "trial_ending": trial_ending_alerts,
    "anomaly": anomaly_alerts,
    "payment_failed": payment_failed_alerts,
}


def detect(con: duckdb.DuckDBPyConnection, day: date, rules: AlertRules) -> list[Alert]:
    """Every alert that holds on `day` under the enabled rules (already-sent ones included: the
    ledger decides what is new)."""
    return [alert for kind, detector in DETECTORS.items() if getattr(rules, kind).enabled
            for alert in detector(con, day, rules)]
