import warnings

# dagster-dbt imports sqlglot, which warns that its optional sqlglotrs speed-up is deprecated: a
# third-party notice, not our code, silenced for that one import (see the report to the lead).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="sqlglotrs is deprecated", category=DeprecationWarning)
    import dagster_dbt  # noqa: F401

# The rating assets read dbt's manifest when imported; make sure it describes the project.
from billing_pipeline.lib.rating.project import prepare_manifest  # noqa: E402

prepare_manifest()
