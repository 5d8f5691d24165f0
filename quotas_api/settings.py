"""Where the service finds its snapshot, keys, catalog and landing folder, read from the environment when the app starts."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.exchange.event_intake import DEFAULT_MAX_AGE_SECONDS, DEFAULT_MAX_BYTES
from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_FILENAME
from billing_pipeline.exchange.usage_snapshot import USAGE_SNAPSHOT_FILENAME

API_KEYS_FILENAME = "api_keys.yaml"


@dataclass(frozen=True)
class Settings:
    snapshot_path: Path
    api_keys_file: Path
    reload_interval_seconds: float = 1.0
    # Ingestion runs daily; a snapshot older than this means the pipeline stopped publishing.
    stale_after_seconds: float = 26 * 3600
    # Stripe webhooks: without a secret the endpoint answers 503 (it cannot verify anything).
    stripe_webhook_secret: str | None = None
    stripe_inbox: Path = DataDir(Path("data")).stripe_inbox
    # Event intake: accepted events land in <landing_usage>/<UTC day>/, judged against <catalog_dir>.
    # None: derived from the snapshot's data folder (<data>/serving/... -> <data>/landing/usage, <data>/catalog).
    landing_usage: Path | None = None
    catalog_dir: Path | None = None
    intake_max_bytes: int = DEFAULT_MAX_BYTES
    intake_max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS

    @property
    def data_dir(self) -> DataDir:
        return DataDir(self.snapshot_path.parent.parent)

    @property
    def usage_snapshot_path(self) -> Path:
        """The usage snapshot, published beside the quota snapshot."""
        return self.snapshot_path.with_name(USAGE_SNAPSHOT_FILENAME)

    @property
    def intake_dir(self) -> Path:
        return self.landing_usage or self.data_dir.landing_usage

    @property
    def catalog(self) -> Path:
        return self.catalog_dir or self.data_dir.catalog

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        """BILLING_DATA_DIR (default ./data) locates both files unless they are named directly:
        QUOTAS_API_SNAPSHOT (default <data>/serving/quota_snapshot.parquet),
        QUOTAS_API_KEYS_FILE (default <data>/catalog/api_keys.yaml),
        QUOTAS_API_RELOAD_INTERVAL seconds (default 1), QUOTAS_API_STALE_AFTER seconds (default 93600),
        STRIPE_WEBHOOK_SECRET (the webhook endpoint's signing secret, whsec_...),
        STRIPE_INBOX_DIR (default <data>/landing/stripe_events),
        QUOTAS_API_INTAKE_MAX_AGE seconds (default 60): an intake file is handed to ingestion this long
        after it was opened at the latest.
        """
        data_dir = DataDir(Path(env.get("BILLING_DATA_DIR") or "data"))
        return cls(
            snapshot_path=Path(env.get("QUOTAS_API_SNAPSHOT") or data_dir.serving / SNAPSHOT_FILENAME),
            api_keys_file=Path(env.get("QUOTAS_API_KEYS_FILE") or data_dir.catalog / API_KEYS_FILENAME),
            reload_interval_seconds=_positive(env, "QUOTAS_API_RELOAD_INTERVAL", cls.reload_interval_seconds),
            stale_after_seconds=_positive(env, "QUOTAS_API_STALE_AFTER", cls.stale_after_seconds),
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_inbox=Path(env.get("STRIPE_INBOX_DIR") or data_dir.stripe_inbox),
            landing_usage=data_dir.landing_usage,
            catalog_dir=data_dir.catalog,
            intake_max_age_seconds=_positive(env, "QUOTAS_API_INTAKE_MAX_AGE", cls.intake_max_age_seconds),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{name}={raw!r} must be a positive number of seconds")
    return value
