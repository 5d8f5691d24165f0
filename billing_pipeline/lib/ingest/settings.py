"""Operator-tunable thresholds for the ingestion checks, with defaults a billing team can live with."""

import dagster as dg


class IngestSettings(dg.ConfigurableResource):
    """When a landing day counts as late, and how far its volume may stray before it warns."""

    freshness_deadline_hours: int = 6  # a day's files are due by this hour (UTC) of the next day
    volume_window_days: int = 7
    volume_low_ratio: float = 0.3  # weekends run at ~0.4x a weekday: warn only well below that
    volume_high_ratio: float = 3.0  # warn above three times the trailing median
