"""What the lifespan sets up for the endpoints, reached from a request in one dict lookup."""

from dataclasses import dataclass

from starlette.types import Scope

from quotas_api.api_keys import WatchedKeyRing
from quotas_api.live_usage import LiveUsage
from quotas_api.metrics import ApiMetrics
from quotas_api.settings import Settings
from quotas_api.snapshot_index import QuotaIndex
from quotas_api.snapshot_store import SnapshotStore
from quotas_api.usage_index import UsageIndex

STATE_KEY = "quotas_api"


@dataclass(frozen=True)
class Services:
    settings: Settings
    keys: WatchedKeyRing
    snapshots: SnapshotStore[QuotaIndex]
    metrics: ApiMetrics
    live: LiveUsage
    usage: SnapshotStore[UsageIndex]


def services(scope: Scope) -> Services:
    # The lifespan state is copied into every request's scope (the ASGI lifespan-state extension);
    # reading it there skips building a State wrapper on each request.
    return scope["state"][STATE_KEY]
