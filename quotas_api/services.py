"""What the lifespan sets up for the endpoints, reached from a request in one dict lookup."""

from dataclasses import dataclass

from starlette.requests import Request

from quotas_api.api_keys import KeyRing
from quotas_api.metrics import ApiMetrics
from quotas_api.settings import Settings
from quotas_api.snapshot_store import SnapshotStore

STATE_KEY = "quotas_api"


@dataclass(frozen=True)
class Services:
    settings: Settings
    keys: KeyRing
    snapshots: SnapshotStore
    metrics: ApiMetrics


def services(request: Request) -> Services:
    # The lifespan state is copied into every request's scope (the ASGI lifespan-state extension);
    # reading it there skips building a State wrapper on each request.
    return request.scope["state"][STATE_KEY]
