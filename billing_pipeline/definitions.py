"""The one entry point: every asset, check, schedule and sensor under defs/, plus the resources."""

from pathlib import Path

import dagster as dg

from billing_pipeline.defs.ingest.settings import IngestSettings
from billing_pipeline.defs.resources import BillingData


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources={
            "billing_data": BillingData(data_dir=dg.EnvVar("BILLING_DATA_DIR")),
            "ingest_settings": IngestSettings(),
        }),
    )
