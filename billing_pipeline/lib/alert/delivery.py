"""Trying every pending delivery, sink by sink, and recording each outcome in the ledger."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

import duckdb

from billing_pipeline.lib.alert import records
from billing_pipeline.lib.alert.config import SinksFile
from billing_pipeline.lib.alert.sinks import DeliveryRefused, SinkUnavailable, open_sink


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class DeliveryReport:
    sent: Counter = field(default_factory=Counter)        # sink -> deliveries sent this run
    errors: dict[str, str] = field(default_factory=dict)  # sink -> latest error this run


def deliver_pending(con: duckdb.DuckDBPyConnection, sinks: SinksFile, alerts_folder: Path,
                    env: Mapping[str, str], now: Callable[[], datetime] = utc_now) -> DeliveryReport:
    """Send every pending delivery (this run's and earlier ones'). Each is marked sent right after
    its sink took it, so a crash mid-run repeats at most the one in flight."""
    report = DeliveryReport()
    by_sink = defaultdict(list)
    for delivery in records.pending_deliveries(con):
        by_sink[delivery.sink].append(delivery)
    configs = {config.name: config for config in sinks.sinks}
    for name, deliveries in by_sink.items():
        if name not in configs:
            report.errors[name] = "sink no longer configured in sinks.yaml: its deliveries stay pending"
            continue
        # the delivery in flight when a sink turns out to be down carries the error; the rest wait untried
        in_flight = deliveries[0].document["alert_key"]
        try:
            with open_sink(configs[name], alerts_folder, env) as sink:
                for delivery in deliveries:
                    in_flight = delivery.document["alert_key"]
                    try:
                        sink.send(delivery)
                    except DeliveryRefused as error:
                        records.mark_failed(con, in_flight, name, now(), str(error))
                        report.errors[name] = str(error)
                        continue
                    records.mark_sent(con, in_flight, name, now())
                    report.sent[name] += 1
        except SinkUnavailable as error:
            records.mark_failed(con, in_flight, name, now(), str(error))
            report.errors[name] = str(error)
    return report
