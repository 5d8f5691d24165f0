"""Usage events over HTTP: judged like landed files, durable before the answer, counted at once."""

import json

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quotas_api.auth import authenticate
from quotas_api.errors import JSON, ApiError
from quotas_api.event_judge import CatalogUnavailable
from quotas_api.routes.bodies import limited_body
from quotas_api.services import services

MAX_EVENTS = 1000
MAX_EVENTS_BODY_BYTES = 4 * 1024 * 1024
BLANKS = " \t\r\n"


async def post_events(request: Request) -> Response:
    """Post usage events: one event object, or an array of up to 1,000.
    ---
    operationId: postEvents
    summary: Post usage events
    description: >
      Each event is judged by the raw event contract, the same rules as a landed usage file. Valid
      events with a new event_id are appended and fsynced to an intake file under
      landing/usage/<UTC day>/ before the answer, which the pipeline ingests like any other landed
      file, and count in the very next quota answer. An event_id accepted before is a duplicate,
      written once. An account's API key may post only that account's events.
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/EventsRequest"}
    responses:
      "202":
        description: How many events were accepted, how many were duplicates, and why each other was rejected.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/EventsResult"}
      "400": {$ref: "#/components/responses/BadRequest"}
      "401": {$ref: "#/components/responses/Unauthorized"}
      "413": {$ref: "#/components/responses/TooLarge"}
      "422": {$ref: "#/components/responses/Invalid"}
      "503": {$ref: "#/components/responses/CatalogUnavailable"}
    """
    key = authenticate(request.scope)
    texts = split_events(await limited_body(request, MAX_EVENTS_BODY_BYTES))
    try:
        result = await anyio.to_thread.run_sync(services(request.scope).live.accept, texts, key)
    except CatalogUnavailable as exc:
        raise catalog_unavailable(exc) from None
    rejected = [{"index": r.index, "event_id": r.event_id, "reason": r.reason, "detail": r.detail}
                for r in result.rejected]
    body = json.dumps({"accepted": result.accepted, "duplicates": result.duplicates, "rejected": rejected})
    return Response(body, status_code=202, media_type=JSON)


def catalog_unavailable(exc: CatalogUnavailable) -> ApiError:
    return ApiError(503, "catalog_unavailable", f"events cannot be judged without the catalog: {exc}")


def split_events(body: bytes) -> list[str]:
    """The JSON text of each event, exactly as sent (the contract's rules read the text: duplicate
    keys, the digits of a quantity), from one JSON value or an array of them."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the request body is not UTF-8 text") from None
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip(BLANKS))
    try:
        if not text.startswith("[", start):
            value, end = decoder.raw_decode(text, start)
            _expect_end(text, end)
            _expect_object(value)
            return [text[start:end]]
        texts, position = [], _skip(text, start + 1)
        if text.startswith("]", position):
            return _expect_end(text, position + 1) or []
        while True:
            value, end = decoder.raw_decode(text, position)
            _expect_object(value, len(texts))
            texts.append(text[position:end])
            if len(texts) > MAX_EVENTS:
                raise ApiError(413, "too_many_events", f"post at most {MAX_EVENTS} events in one request")
            position = _skip(text, end)
            if text.startswith("]", position):
                _expect_end(text, position + 1)
                return texts
            if not text.startswith(",", position):
                raise ValueError(f"expected ',' or ']' at character {position}")
            position = _skip(text, position + 1)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from None


def _expect_object(value: object, index: int | None = None) -> None:
    if not isinstance(value, dict):
        where = "the body" if index is None else f"element {index} of the array"
        raise ApiError(422, "invalid_request", f"{where} is not an event object: post one event object or an array of them")


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in BLANKS:
        position += 1
    return position


def _expect_end(text: str, position: int) -> None:
    if _skip(text, position) != len(text):
        raise ValueError(f"extra data at character {position}")


routes = [Route("/v1/events", post_events, methods=["POST"])]
