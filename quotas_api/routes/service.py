"""Health, metrics and the API description: open to monitoring without an API key."""

import json
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quotas_api.errors import JSON
from quotas_api.openapi import openapi_schema
from quotas_api.services import services


async def healthz(request: Request) -> Response:
    """Whether a snapshot is being served, how old it is, and whether the latest file was rejected.
    ---
    operationId: getHealth
    summary: Service and snapshot health
    security: []
    responses:
      "200":
        description: Serving (status ok, or degraded when the latest file was rejected or the snapshot is stale).
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Health"}
      "503":
        description: Nothing to serve yet (status unhealthy).
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Health"}
    """
    store = services(request.scope).snapshots
    index, failure = store.current, store.last_failure
    if index is None:
        status = "unhealthy"
    elif failure is not None or store.is_stale:
        status = "degraded"
    else:
        status = "ok"
    snapshot = {
        "path": str(store.path),
        "loaded": index is not None,
        "generated_at": index.as_of if index else None,
        "age_seconds": store.age_seconds(),
        "stale": store.is_stale,
        "rows": index.row_count if index else None,
        "accounts": index.account_count if index else None,
        "loaded_at": _iso(store.loaded_at),
        "load_seconds": store.last_load_seconds,
        "last_error": failure.reason if failure else None,
        "last_error_at": _iso(failure.at) if failure else None,
    }
    return Response(
        json.dumps({"status": status, "snapshot": snapshot}),
        status_code=503 if index is None else 200,
        media_type=JSON,
    )


async def metrics(request: Request) -> Response:
    """Prometheus text exposition.
    ---
    operationId: getMetrics
    summary: Prometheus metrics
    security: []
    responses:
      "200":
        description: Requests by route and status, latency histogram, snapshot age, rows and reloads.
        content:
          text/plain:
            schema: {type: string}
    """
    return Response(generate_latest(services(request.scope).metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    """This description.
    ---
    operationId: getOpenApi
    summary: OpenAPI description
    security: []
    responses:
      "200":
        description: The OpenAPI 3.1 document.
        content:
          application/json:
            schema: {type: object}
    """
    state = request.app.state
    if not hasattr(state, "openapi"):
        state.openapi = openapi_schema(request.app.routes)
    return JSONResponse(state.openapi)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]
