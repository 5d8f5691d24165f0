"""Each alert kind fires when it should and not a hair before, on a real rated warehouse."""

from datetime import date
from decimal import Decimal

import pytest

from billing_pipeline.lib.alert.config import AlertRules
from billing_pipeline.lib.alert.detect import detect
from billing_pipeline.lib.warehouse import connect
from tests.alert.alert_world import AS_OF


@pytest.fixture
def found(rated_alert_world):
    def find(day: date = AS_OF, rules: AlertRules = AlertRules(), kind: str | None = None) -> set[tuple]:
        with connect(rated_alert_world.warehouse) as con:  # dbt in this process holds it read-write
            alerts = detect(con, day, rules)
        return {(a.kind, a.account_id, a.metric, a.threshold, a.period) for a in alerts if kind in (None, a.kind)}
    return find


def test_quota_thresholds_fire_at_exactly_their_percent_of_the_limit_and_not_a_hundredth_below(found):
    quota = found(kind="quota")
    assert {(a, t) for _, a, m, t, _ in quota if m == "api_calls"} == {
        ("q75", Decimal(75)), ("q100", Decimal(75)), ("q100", Decimal(90)), ("q100", Decimal(100))}


def test_without_a_limit_the_included_allowance_is_the_base_and_unlimited_with_nothing_included_never_alerts(found):
    seats = {(a, m, t) for _, a, m, t, _ in found(kind="quota") if a == "seats"}
    assert seats == {("seats", "seats", Decimal(t)) for t in (75, 90, 100)}  # its 90000 api_calls: no limit, none included


def test_suspended_accounts_get_no_usage_alerts(found):
    assert not {a for _, a, *_ in found() if a == "halted"}


def test_configured_thresholds_replace_the_defaults(found):
    rules = AlertRules(quota={"thresholds": ["74.99", "75.01"]})
    assert {(a, t) for _, a, m, t, _ in found(rules=rules, kind="quota") if m == "api_calls"} == {
        ("q75", Decimal("74.99")), ("q7499", Decimal("74.99")), ("q100", Decimal("74.99")), ("q100", Decimal("75.01"))}


def test_quota_alerts_only_use_a_status_rated_on_or_before_the_evaluation_day(found):
    assert found(day=date(2026, 3, 14), kind="quota") == set()  # the status is as of 03-15


def test_low_credit_fires_below_the_percent_of_granted_and_not_while_enough_is_left(found):
    assert found(kind="low_credit") == {("low_credit", "credit", None, None, "2026-03")}
    assert found(day=date(2026, 2, 27), kind="low_credit") == set()  # 19.00 of 50.00 left after February


def test_low_credit_boundaries_are_exact_in_cents_and_percent(found):
    edge = lambda **rule: {a for _, a, *_ in found(rules=AlertRules(low_credit=rule), kind="low_credit")} >= {"edge"}  # noqa: E731
    # edge holds exactly 10.00 of 41.00 granted
    assert not edge(below_cents=1000, below_percent=None) and edge(below_cents=1001, below_percent=None)
    assert not edge(below_percent="24.39") and edge(below_percent="24.40")


def test_a_trial_ending_within_the_configured_days_alerts_and_one_that_stops_with_its_subscription_does_not(found):
    assert found(kind="trial_ending") == {("trial_ending", "trial", None, None, "2026-03")}  # first paid day 03-18
    assert found(day=date(2026, 3, 14), kind="trial_ending") == set()
    assert found(day=date(2026, 3, 18), kind="trial_ending") == set()  # billing has started
    assert found(day=date(2026, 3, 14), rules=AlertRules(trial_ending={"days_before": 4}), kind="trial_ending")


def test_an_anomaly_is_a_day_over_factor_times_its_trailing_median_with_history_and_volume(found):
    # spiky 301 > 3 x 100; steady 300 is not over; tiny is under the floor; newbie has no 14 days of history
    assert found(kind="anomaly") == {("anomaly", "spiky", "api_calls", None, "2026-03-14")}
    assert {a for _, a, *_ in found(rules=AlertRules(anomaly={"min_quantity": 10}), kind="anomaly")} == {"spiky", "tiny"}
    assert {a for _, a, *_ in found(rules=AlertRules(anomaly={"trailing_days": 4}), kind="anomaly")} == {"spiky", "newbie"}
    assert found(day=date(2026, 3, 14), kind="anomaly") == set()


def test_payment_failed_fires_for_invoices_whose_latest_payment_event_failed(found):
    assert found(kind="payment_failed") == {("payment_failed", "steady", None, None, "2026-02")}
    assert found(day=date(2026, 3, 4), kind="payment_failed") == set()
    # as of 03-05 spiky's later success is already in the ledger: the latest event decides


def test_without_a_publication_ledger_there_are_no_payment_failures(alert_data):
    with connect(alert_data.warehouse) as con:
        con.execute("DROP SCHEMA publish CASCADE")
        assert [a for a in detect(con, AS_OF, AlertRules()) if a.kind == "payment_failed"] == []


def test_disabled_rules_detect_nothing(found):
    off = {kind: {"enabled": False} for kind in ("quota", "low_credit", "trial_ending", "anomaly", "payment_failed")}
    assert found(rules=AlertRules(**off)) == set()
