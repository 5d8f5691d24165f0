"""The data folder contract: every path the pipeline reads or writes hangs off one root."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def landing_usage(self) -> Path:
        return self.root / "landing" / "usage"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "billing.duckdb"

    @property
    def seam(self) -> Path:
        """The loaded events and the catalog as Parquet, for a rating engine other than DuckDB (lib/ingest/seam.py)."""
        return self.root / "warehouse" / "seam"

    @property
    def spark(self) -> Path:
        """Spark's tables, one Parquet folder each, when rating runs on Spark (BILLING_ENGINE=spark)."""
        return self.root / "warehouse" / "spark"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def serving(self) -> Path:
        return self.root / "serving"

    @property
    def alerts(self) -> Path:
        return self.root / "alerts"

    @property
    def logs(self) -> Path:
        """One log file per `billing-pipeline run`: full errors and traces the console leaves out."""
        return self.root / "logs"

    @property
    def stripe_inbox(self) -> Path:
        """Verified Stripe webhook events, one JSON file per event id, waiting to be loaded."""
        return self.root / "landing" / "stripe_events"

    def day_folder(self, day: str) -> Path:
        return self.landing_usage / day
