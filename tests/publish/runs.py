"""Running the publish stage's jobs the way Dagster does, on a test's data folder and Stripe."""

import dagster as dg
import pytest

from billing_pipeline.defs.publish.invoices import CHECK_NAME, publish_job, stripe_amounts_match_invoices, stripe_invoices
from billing_pipeline.defs.publish.payments import stripe_events_job, stripe_payment_events
from billing_pipeline.lib.publish.stripe_resource import StripeResource
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.exchange.data_dir import DataDir
from tests.publish.issued_world import PARTITION

API_KEY = "sk_test_local"
# Test-only variable names: a real STRIPE_API_KEY in the environment is never picked up by a test.
KEY_VARIABLE = "BILLING_TEST_STRIPE_API_KEY"
BASE_VARIABLE = "BILLING_TEST_STRIPE_API_BASE"


def stripe_at(monkeypatch: pytest.MonkeyPatch, url: str | None, api_key: str | None = API_KEY,
              retries: int = 4) -> StripeResource:
    """The publish stage's resource, configured (through its environment variables) for `url`;
    api_key None: configured without a key."""
    for variable, value in ((KEY_VARIABLE, api_key), (BASE_VARIABLE, url)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    return StripeResource(api_key_env_var=KEY_VARIABLE, api_base_env_var=BASE_VARIABLE, max_network_retries=retries)


def publish_defs(paths: DataDir, stripe_resource: StripeResource) -> dg.Definitions:
    return dg.Definitions(
        assets=[stripe_invoices, stripe_payment_events], asset_checks=[stripe_amounts_match_invoices],
        jobs=[publish_job, stripe_events_job],
        resources={"billing_data": BillingData(data_dir=str(paths.root)), "stripe": stripe_resource})


def run_publish(paths: DataDir, stripe_resource: StripeResource, partition: str = PARTITION,
                zero_total: str = "skip", instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    return publish_defs(paths, stripe_resource).resolve_job_def("publish_job").execute_in_process(
        partition_key=partition, raise_on_error=False, instance=instance,
        run_config={"ops": {"stripe_invoices": {"config": {"zero_total": zero_total}}}})


def run_stripe_events(paths: DataDir, stripe_resource: StripeResource, succeeds: bool = True) -> dg.ExecuteInProcessResult:
    result = publish_defs(paths, stripe_resource).resolve_job_def("stripe_events_job").execute_in_process(
        raise_on_error=False)
    assert result.success is succeeds, failure_message(result)
    return result


def event_metadata(result: dg.ExecuteInProcessResult) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node("stripe_payment_events")[0].metadata.items()}


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node("stripe_invoices")[0].metadata.items()}


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """What the failed steps said: a dg.Failure's description, else the error."""
    failures = [e.step_failure_data for e in result.all_events if e.is_step_failure]
    return "\n".join(f.user_failure_data.description if f.user_failure_data else f.error.message for f in failures)


def check_evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    """The run's stripe_amounts_match_invoices evaluation."""
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    return evaluation
