"""Running the publish stage's jobs the way Dagster does, on a test's data folder."""

import dagster as dg

from billing_pipeline.defs.publish.invoices import publish_job, stripe_amounts_match_invoices, stripe_invoices
from billing_pipeline.defs.publish.payments import stripe_events_job, stripe_payment_events
from billing_pipeline.lib.publish.stripe_resource import StripeResource
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.exchange.data_dir import DataDir
from tests.publish.issued_world import PARTITION

# Never set: these runs must not pick up a real key from the environment.
NO_KEY_VARIABLE = "BILLING_TEST_NO_SUCH_VARIABLE"


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


def run_stripe_events(paths: DataDir, stripe_resource: StripeResource) -> dg.ExecuteInProcessResult:
    result = publish_defs(paths, stripe_resource).resolve_job_def("stripe_events_job").execute_in_process()
    assert result.success
    return result


def event_metadata(result: dg.ExecuteInProcessResult) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node("stripe_payment_events")[0].metadata.items()}
