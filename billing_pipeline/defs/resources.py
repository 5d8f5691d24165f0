"""Every resource of the pipeline, registered in this one place. Values come from EnvVar at run
time, never from the environment at import."""

import dagster as dg

from billing_pipeline.lib.ingest.settings import IngestSettings
from billing_pipeline.lib.publish.stripe_resource import StripeResource
from billing_pipeline.lib.rating.engine import RatingEngine
from billing_pipeline.lib.rating.project import dbt_cli_resource
from billing_pipeline.lib.warehouse import BillingData

defs = dg.Definitions(resources={
    "billing_data": BillingData(data_dir=dg.EnvVar("BILLING_DATA_DIR")),
    "ingest_settings": IngestSettings(),
    "stripe": StripeResource(),
    "dbt": dbt_cli_resource(),
    "rating_engine": RatingEngine(),
})
