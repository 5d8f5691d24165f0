"""rules.yaml and sinks.yaml: a mistake is refused once, at the line to fix, with no trace."""

from datetime import date

import dagster as dg
import pytest

from billing_pipeline.defs.alert.assets import usage_alerts
from billing_pipeline.lib.alert.config import AlertConfigError, load_rules, load_sinks
from billing_pipeline.lib.warehouse import BillingData

SINKS = """\
sinks:
  - {type: jsonl, name: file}
  - type: webhook
    name: ops
    url: https://hooks.example.com/billing
    secret_env: ALERT_WEBHOOK_SECRET
    timeout_seconds: -1
  - type: smtp
    name: mail
    host: smtp.example.com
    from: billing@example.com
"""


def refused(load, folder) -> list[str]:
    with pytest.raises(AlertConfigError) as error:
        load(folder)
    assert str(error.value).splitlines()[1:] == [f"  - {p}" for p in error.value.problems]
    return [str(p) for p in error.value.problems]


def test_a_sinks_yaml_mistake_is_named_at_its_own_line(tmp_path):
    (tmp_path / "sinks.yaml").write_text(SINKS)
    assert refused(load_sinks, tmp_path) == [
        "sinks.yaml:7: [greater_than] sinks.1.webhook.timeout_seconds: Input should be greater than 0 (got -1)",
        "sinks.yaml:8: [value_error] sinks.2.smtp: sink mail: give `to` addresses, `to_account: true`, or both",
    ]


def test_a_misspelt_rule_setting_is_named_at_its_line(tmp_path):
    (tmp_path / "rules.yaml").write_text("quota:\n  thresholds: [75, 90]\nanomaly:\n  factr: 4\n")
    assert refused(load_rules, tmp_path) == ["rules.yaml:4: [extra_forbidden] anomaly.factr: Extra inputs are not permitted (got 4)"]


def test_an_unclosed_quote_in_rules_yaml_is_named_where_it_opens(tmp_path):
    (tmp_path / "rules.yaml").write_text("low_credit:\n  below_percent: '10\n  below_cents: 500\ntrial_ending:\n  days_before: '3'\n")
    [problem] = refused(load_rules, tmp_path)
    assert problem.startswith("rules.yaml:2: [yaml_syntax] the quote opened on this line is not closed on it")


def test_the_alert_asset_fails_with_the_problem_list_as_its_description(tmp_path):
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "sinks.yaml").write_text(SINKS)
    context = dg.build_asset_context(partition_key="2026-03-10", resources={"billing_data": BillingData(data_dir=str(tmp_path))})
    with pytest.raises(dg.Failure) as failure:
        list(usage_alerts(context))
    assert isinstance(failure.value.__cause__, AlertConfigError)
    assert failure.value.description == str(failure.value.__cause__)
    assert failure.value.description.startswith("alert configuration refused, 2 problem(s):\n  - sinks.yaml:7: [greater_than]")
