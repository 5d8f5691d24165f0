"""/openapi.json: paths from the endpoints' docstrings (Starlette's SchemaGenerator), schemas from
the pydantic models, shared parameters and error responses defined once here."""

from typing import Any

from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from quotas_api.models import SCHEMA_MODELS, EventsRequest, QuotaCheckRequest


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def _path_parameter(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


def openapi_schema(routes: list[BaseRoute]) -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "validation" if model in (QuotaCheckRequest, EventsRequest) else "serialization") for model in SCHEMA_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    generator = SchemaGenerator(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Quota lookup service",
                "version": "1",
                "description": "Usage events in, and quotas of each account's open billing period out: the "
                "pipeline's latest quota snapshot plus every event the API accepted since. Every answer "
                "carries as_of (the snapshot's generation time) and live_through (the newest accepted event).",
            },
            "security": [{"apiKey": []}],
            "components": {
                "securitySchemes": {
                    "apiKey": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An API key scoped to one account or to the service role.",
                    }
                },
                "schemas": definitions["$defs"],
                "parameters": {
                    "AccountId": _path_parameter("account_id", "The account, as in accounts.csv.", "acme"),
                    "Metric": _path_parameter("metric", "A metric code from plans.yaml.", "api_calls"),
                },
                "responses": {
                    "BadRequest": _error("The body is not valid JSON."),
                    "Unauthorized": _error("The API key is missing or not valid."),
                    "NotFound": _error(
                        "No such account (or one this key may not read), metric, or route."
                    ),
                    "TooLarge": _error("The body is too large."),
                    "Invalid": _error("The body is JSON but not a valid request."),
                    "SnapshotUnavailable": _error("No quota snapshot has been loaded yet."),
                    "UsageUnavailable": _error("No usage snapshot has been loaded yet, or the one loaded is "
                                               "not from the served quota snapshot's run yet (Retry-After)."),
                    "CatalogUnavailable": _error("No valid catalog to judge events against (see the service log)."),
                },
            },
        }
    )
    return generator.get_schema(routes)
