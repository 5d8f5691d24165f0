"""Operator-tunable ingestion settings, with defaults a billing team can live with: the one place
where the late tolerance, the day-level expectations' thresholds and their severities are set."""

import dagster as dg
from pydantic import Field, field_validator

SEVERITIES = ("warn", "error")


class IngestSettings(dg.ConfigurableResource):
    """How late an event may be for its landing day, when a day counts as late, and what the
    day-level expectations allow (an `error` severity holds the periods of the rows concerned)."""

    # Producers name folders by their local date: an event may occur up to this long after its
    # landing day ends (UTC) and still be valid; the default is the widest UTC offset, +14:00.
    late_tolerance_hours: int = 14
    freshness_deadline_hours: int = 6  # a day's files are due by this hour (UTC) of the next day
    volume_window_days: int = 7
    volume_low_ratio: float = 0.3  # weekends run at ~0.4x a weekday: warn only well below that
    volume_high_ratio: float = 3.0  # warn above three times the trailing median

    # Day-level expectations (Great Expectations, lib/ingest/expectations.py).
    quarantined_share_max: float = 0.2  # of a file's lines, per reason
    quarantined_share_min_lines: int = 100  # smaller files are not judged by share
    quantity_median_ratio_max: float = 10.0  # per metric, today's median against the trailing days'
    late_event_share_max: float = 0.2  # events that occurred before the landing day's previous day
    silent_account_min_daily_events: int = 20  # an account this busy every trailing day should not go silent
    expectation_severity: dict[str, str] = Field(default_factory=lambda: {
        "quarantined_share": "error",  # a producer sending mostly garbage: bill none of its day's periods yet
        "quantity_distribution": "warn",
        "late_event_share": "warn",
        "silent_accounts": "warn",
    })

    @field_validator("expectation_severity")
    @classmethod
    def _known_severities(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = {name: severity for name, severity in value.items() if severity not in SEVERITIES}
        if wrong:
            raise ValueError(f"severities must be one of {SEVERITIES}: {wrong}")
        return value

    def severity(self, expectation: str) -> str:
        return self.expectation_severity.get(expectation, "warn")
