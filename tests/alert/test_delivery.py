"""The ledger and the sinks: each alert recorded once and delivered once per sink, whatever runs
again, and nothing lost while a sink is down."""

import json
from collections import Counter
from datetime import date

import pytest
import yaml
from aiosmtpd.controller import Controller

from billing_pipeline.lib.alert.config import AlertRules, load_rules, load_sinks
from billing_pipeline.lib.alert.run import run_alerts
from billing_pipeline.lib.warehouse import connect
from tests.alert.alert_world import AS_OF
from tests.alert.receivers import WebhookReceiver, free_port

SECRET = "whsec_test_0123456789"
ENV = {"ALERT_WEBHOOK_SECRET": SECRET}


def write_sinks(paths, *sinks: dict) -> None:
    paths.alerts.mkdir(parents=True, exist_ok=True)
    (paths.alerts / "sinks.yaml").write_text(yaml.safe_dump({"sinks": list(sinks)}))


def webhook(url: str, **extra) -> dict:
    return {"type": "webhook", "name": "hook", "url": url, "secret_env": "ALERT_WEBHOOK_SECRET",
            "timeout_seconds": 2, "retries": 2, "backoff_seconds": 0.01, **extra}


def run(paths, day: date = AS_OF, env=ENV):
    with connect(paths.warehouse) as con:
        return run_alerts(con, day, load_rules(paths.alerts), load_sinks(paths.alerts), paths.alerts, env)


def ledger(paths, sql: str) -> list[tuple]:
    with connect(paths.warehouse) as con:
        return con.execute(sql).fetchall()


def jsonl_keys(paths) -> list[str]:
    return [json.loads(line)["alert_key"] for line in (paths.alerts / "alerts.jsonl").read_text().splitlines()]


def test_without_sinks_yaml_alerts_go_to_the_jsonl_file_once_across_re_runs_and_backfills(alert_data):
    first = run(alert_data)
    assert len(first.new_keys) == len(first.detected) == 11 and first.delivery.sent == {"jsonl": 11}
    assert sorted(jsonl_keys(alert_data)) == sorted(first.new_keys)

    again = run(alert_data)
    backfill = [run(alert_data, date(2026, 3, day)) for day in range(1, 15)]
    assert len(again.detected) == 11 and again.new_keys == [] and not again.delivery.sent
    assert all(b.new_keys == [] and not b.delivery.sent for b in backfill)  # earlier days find nothing new
    assert sum(len(b.detected) for b in backfill) > 0
    assert Counter(jsonl_keys(alert_data)) == Counter(first.new_keys)
    assert ledger(alert_data, "SELECT count(*), count(DISTINCT alert_key) FROM alerts.alerts") == [(11, 11)]
    assert ledger(alert_data, "SELECT status, count(*) FROM alerts.deliveries GROUP BY ALL") == [("sent", 11)]


def test_the_jsonl_writer_skips_an_alert_already_in_the_file_when_the_ledger_missed_it(alert_data):
    run(alert_data)
    lines = (alert_data.alerts / "alerts.jsonl").read_text()
    # a crash after the write and before the ledger update leaves the delivery pending
    with connect(alert_data.warehouse) as con:
        con.execute("UPDATE alerts.deliveries SET status = 'pending', sent_at = NULL")
    assert run(alert_data).delivery.sent == {"jsonl": 11}
    assert (alert_data.alerts / "alerts.jsonl").read_text() == lines


def test_a_webhook_receiver_verifies_every_signature_and_gets_each_alert_of_its_kinds_once(alert_data):
    with WebhookReceiver(SECRET) as receiver:
        write_sinks(alert_data, webhook(receiver.url, kinds=["quota", "payment_failed"]))
        first = run(alert_data)
        run(alert_data)
        run(alert_data, date(2026, 3, 10))
    quota_or_payment = {a.key for a in first.detected if a.kind in ("quota", "payment_failed")}
    assert receiver.rejected_signatures == 0 and receiver.requests == len(quota_or_payment) == 8
    assert sorted(receiver.keys()) == sorted(quota_or_payment)
    q75 = next(d for d in receiver.accepted if d["account_id"] == "q75")
    assert q75["threshold"] == "75" and q75["period"] == "2026-03" and q75["data"]["used"] == "3750"
    assert q75["data"]["limit"] == "5000" and q75["data"]["basis"] == "limit"


def test_a_webhook_down_then_up_gets_each_alert_exactly_once(alert_data):
    port = free_port()
    write_sinks(alert_data, webhook(f"http://127.0.0.1:{port}/alerts"))
    down = run(alert_data)
    assert not down.delivery.sent and "ConnectError" in down.delivery.errors["hook"]
    assert down.pending["hook"][0] == 11
    # the first delivery was tried (with its retries) and the rest were not: the sink was down
    assert ledger(alert_data, "SELECT attempts, count(*) FROM alerts.deliveries GROUP BY ALL ORDER BY 1") == [(0, 10), (1, 1)]

    with WebhookReceiver(SECRET, port=port, fail_with=[500]) as receiver:
        run(alert_data, date(2026, 3, 12))  # a backfill finds nothing new but sends what is pending
        run(alert_data)
    assert Counter(receiver.keys()) == Counter(down.new_keys)
    assert receiver.requests == 12  # the 500 was retried
    assert ledger(alert_data, "SELECT status, count(*) FROM alerts.deliveries GROUP BY ALL") == [("sent", 11)]


def test_a_webhook_that_refuses_one_alert_keeps_it_pending_and_still_takes_the_others(alert_data):
    with WebhookReceiver(SECRET, fail_with=[422]) as receiver:
        write_sinks(alert_data, webhook(receiver.url))
        result = run(alert_data)
        assert result.delivery.sent == {"hook": 10} and result.pending == {"hook": (1, "HTTP 422: ")}
        assert run(alert_data).delivery.sent == {"hook": 1}
    assert len(set(receiver.keys())) == len(receiver.keys()) == 11


def test_a_missing_webhook_secret_leaves_deliveries_pending_and_names_the_variable(alert_data):
    with WebhookReceiver(SECRET) as receiver:
        write_sinks(alert_data, webhook(receiver.url))
        result = run(alert_data, env={})
        assert result.pending["hook"][0] == 11 and "ALERT_WEBHOOK_SECRET" in result.delivery.errors["hook"]
        assert receiver.requests == 0
        assert run(alert_data).delivery.sent == {"hook": 11}


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_smtp_mails_each_alert_once_to_the_configured_and_the_account_addresses(alert_data, smtp_server):
    controller, inbox = smtp_server
    write_sinks(alert_data, {"type": "smtp", "name": "mail", "host": "127.0.0.1", "port": controller.port,
                             "from": "billing@example.com", "to": ["ops@example.com"], "to_account": True,
                             "kinds": ["trial_ending", "low_credit"]},
                {"type": "jsonl", "name": "file"})
    first = run(alert_data)
    run(alert_data)
    assert first.delivery.sent == {"mail": 2, "file": 11}
    by_recipient = {tuple(sorted(rcpt)): text for rcpt, text in inbox.mails}
    assert set(by_recipient) == {("ops@example.com", "trial@example.com"), ("credit@example.com", "ops@example.com")}
    trial = by_recipient[("ops@example.com", "trial@example.com")]
    assert "Subject: Billing alert (trial_ending): trial" in trial
    assert "trial's growth trial ends in 3 day(s): billing starts on 2026-03-18" in trial
    assert "Message-ID: <" in trial and "@billing-pipeline.alerts>" in trial


def test_smtp_down_then_up_delivers_each_alert_once(alert_data):
    port = free_port()
    write_sinks(alert_data, {"type": "smtp", "name": "mail", "host": "127.0.0.1", "port": port, "timeout_seconds": 2,
                             "from": "billing@example.com", "to": ["ops@example.com"]})
    down = run(alert_data)
    assert down.pending == {"mail": (11, down.delivery.errors["mail"])}
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert run(alert_data).delivery.sent == {"mail": 11}
        run(alert_data)
    finally:
        controller.stop()
    assert len(inbox.mails) == 11


def test_rules_yaml_configures_thresholds_without_code(alert_data):
    alert_data.alerts.mkdir(parents=True, exist_ok=True)
    (alert_data.alerts / "rules.yaml").write_text("quota:\n  thresholds: [50]\nanomaly:\n  enabled: false\n")
    assert load_rules(alert_data.alerts) == AlertRules(quota={"thresholds": [50]}, anomaly={"enabled": False})
    kinds = Counter((a.kind, a.threshold) for a in run(alert_data).detected)
    assert ("anomaly", None) not in kinds and kinds[("quota", 50)] == 4
