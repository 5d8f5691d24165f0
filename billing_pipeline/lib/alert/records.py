"""The alert ledger (schema `alerts`): every alert once, and its delivery to each sink.

A run records the alerts it detected (existing keys are left alone, so re-runs and backfills add
nothing), opens a pending delivery per configured sink for each *new* alert, and marks deliveries
sent one by one as the sinks accept them. Pending deliveries from earlier runs are retried by later
runs, which is how a sink that was down gets everything it missed, once.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable

import duckdb

from billing_pipeline.lib.alert.alert import Alert, canonical_threshold, to_json
from billing_pipeline.lib.alert.config import SinksFile

DDL = """
CREATE SCHEMA IF NOT EXISTS alerts;

CREATE TABLE IF NOT EXISTS alerts.alerts (
    alert_key VARCHAR PRIMARY KEY,      -- hash of (account_id, metric, kind, threshold, period)
    account_id VARCHAR NOT NULL,
    metric VARCHAR,
    kind VARCHAR NOT NULL,
    threshold DECIMAL(9, 2),
    period VARCHAR NOT NULL,            -- YYYY-MM; the day YYYY-MM-DD for an anomaly
    message VARCHAR NOT NULL,
    payload JSON NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL,
    evaluated_for DATE NOT NULL
);

-- status: pending until the sink accepted it, then sent (last_error keeps the latest failure)
CREATE TABLE IF NOT EXISTS alerts.deliveries (
    alert_key VARCHAR NOT NULL,
    sink VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    first_attempt_at TIMESTAMPTZ,
    last_attempt_at TIMESTAMPTZ,
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (alert_key, sink)
);
"""


def ensure_alert_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL).fetchall()


def record_alerts(con: duckdb.DuckDBPyConnection, alerts: Iterable[Alert], sinks: SinksFile,
                  detected_at: datetime) -> list[str]:
    """Insert the alerts not in the ledger yet, each with a pending delivery per sink taking its
    kind, in one transaction. Returns the keys that were new."""
    candidates = {alert.key: alert for alert in alerts}
    if not candidates:
        return []
    con.execute("BEGIN TRANSACTION")
    try:
        known = {key for (key,) in con.execute(
            "SELECT alert_key FROM alerts.alerts WHERE alert_key IN (SELECT unnest(?::VARCHAR[]))",
            [list(candidates)]).fetchall()}
        new = [alert for key, alert in candidates.items() if key not in known]
        if new:
            con.executemany("INSERT INTO alerts.alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                (a.key, a.account_id, a.metric, a.kind, a.threshold, a.period, a.message, to_json(a.payload),
                 detected_at, a.evaluated_for) for a in new])
        deliveries = [(a.key, sink.name) for a in new for sink in sinks.sinks if sink.accepts(a.kind)]
        if deliveries:
            con.executemany("INSERT INTO alerts.deliveries (alert_key, sink, status) VALUES (?, ?, 'pending')", deliveries)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return [a.key for a in new]


@dataclass(frozen=True)
class PendingDelivery:
    sink: str
    document: dict[str, Any]  # what the sink sends: the alert as recorded
    account_email: str | None


def pending_deliveries(con: duckdb.DuckDBPyConnection) -> list[PendingDelivery]:
    """Every delivery not sent yet, this run's and earlier runs', oldest alert first."""
    cursor = con.execute("""
        SELECT d.sink, a.alert_key, a.kind, a.account_id, a.metric, a.threshold, a.period, a.message,
               a.payload, a.detected_at, a.evaluated_for, acc.email
        FROM alerts.deliveries AS d
        JOIN alerts.alerts AS a USING (alert_key)
        LEFT JOIN dim_accounts AS acc ON acc.account_id = a.account_id
        WHERE d.status = 'pending'
        ORDER BY d.sink, a.detected_at, a.alert_key""")
    return [PendingDelivery(sink=row[0], document=document(*row[1:11]), account_email=row[11])
            for row in cursor.fetchall()]


def document(alert_key: str, kind: str, account_id: str, metric: str | None, threshold: Decimal | None, period: str,
             message: str, payload: str, detected_at: datetime, evaluated_for: date) -> dict[str, Any]:
    """The alert as every sink sends it (JSON body, JSONL line, mail body)."""
    return {"alert_key": alert_key, "kind": kind, "account_id": account_id, "metric": metric,
            "threshold": canonical_threshold(threshold) or None, "period": period, "message": message,
            "evaluated_for": evaluated_for.isoformat(), "detected_at": detected_at.isoformat(),
            "data": json.loads(payload)}


def mark_sent(con: duckdb.DuckDBPyConnection, alert_key: str, sink: str, at: datetime) -> None:
    con.execute("""UPDATE alerts.deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?,
                   first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ? WHERE alert_key = ? AND sink = ?""",
                [at, at, at, alert_key, sink])


def mark_failed(con: duckdb.DuckDBPyConnection, alert_key: str, sink: str, at: datetime, error: str) -> None:
    con.execute("""UPDATE alerts.deliveries SET attempts = attempts + 1, last_error = ?,
                   first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ? WHERE alert_key = ? AND sink = ?""",
                [error, at, at, alert_key, sink])


def pending_by_sink(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str | None]]:
    """Per sink: deliveries still pending and the latest error among them."""
    rows = con.execute("""SELECT sink, count(*), arg_max(last_error, last_attempt_at) FROM alerts.deliveries
                          WHERE status = 'pending' GROUP BY sink ORDER BY sink""").fetchall()
    return {sink: (count, error) for sink, count, error in rows}
