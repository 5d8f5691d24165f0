"""One error shape for every failure: {"error": {"code": "...", "message": "..."}}."""

import json
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

JSON = "application/json"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status_code=status, media_type=JSON, headers=headers)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


async def http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own refusals (no such route, wrong method) in our shape.
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def internal_error(request: Request, exc: Exception) -> Response:
    # The request is not logged: its headers may hold an API key.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; the service log has the details")


EXCEPTION_HANDLERS = {ApiError: api_error, HTTPException: http_error, Exception: internal_error}
