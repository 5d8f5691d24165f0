"""One alert run for an evaluation day: detect, record what is new, deliver everything pending."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Mapping

import duckdb

from billing_pipeline.lib.alert import records
from billing_pipeline.lib.alert.alert import Alert
from billing_pipeline.lib.alert.config import AlertRules, SinksFile
from billing_pipeline.lib.alert.delivery import DeliveryReport, deliver_pending, utc_now
from billing_pipeline.lib.alert.detect import detect


@dataclass(frozen=True)
class AlertRun:
    day: date
    detected: list[Alert]
    new_keys: list[str]
    delivery: DeliveryReport
    pending: dict[str, tuple[int, str | None]]  # sink -> (still pending, latest error), after the run
    sinks: list[str]  # the configured sinks, by name

    @property
    def summary(self) -> list[str]:
        """What this run did, one line each: its new alerts, and per sink what *this run* sent (a
        re-run with nothing new sends 0) and what is still pending from any run."""
        lines = [f"alerts for {self.day.isoformat()}: {len(self.new_keys):,} new of {len(self.detected):,} detected"]
        for sink in sorted({*self.sinks, *self.pending}):
            lines.append(f"alerts via {sink}: {self.delivery.sent[sink]:,} sent, {self.pending.get(sink, (0, None))[0]:,} pending")
        return lines

    @property
    def by_kind(self) -> dict[str, int]:
        return dict(Counter(alert.kind for alert in self.detected))

    @property
    def new(self) -> list[Alert]:
        keys = set(self.new_keys)
        return [alert for alert in self.detected if alert.key in keys]


def run_alerts(con: duckdb.DuckDBPyConnection, day: date, rules: AlertRules, sinks: SinksFile,
               alerts_folder: Path, env: Mapping[str, str], now: Callable[[], datetime] = utc_now) -> AlertRun:
    records.ensure_alert_schema(con)
    detected = detect(con, day, rules)
    new_keys = records.record_alerts(con, detected, sinks, now())
    delivery = deliver_pending(con, sinks, alerts_folder, env, now)
    return AlertRun(day, detected, new_keys, delivery, records.pending_by_sink(con), [sink.name for sink in sinks.sinks])
