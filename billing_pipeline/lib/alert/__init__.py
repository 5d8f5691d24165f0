"""Usage alerts: detection queries over the rated warehouse, the alert ledger (schema `alerts`) and
the sinks alerts are delivered to. Dagster-free, so the asset in defs/alert stays a thin wrapper."""
