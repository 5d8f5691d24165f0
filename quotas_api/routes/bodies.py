"""Request bodies read up to a limit, so an oversized one is refused before it is all in memory."""

from starlette.requests import Request

from quotas_api.errors import ApiError


async def limited_body(request: Request, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise ApiError(413, "body_too_large", f"the request body must be at most {max_bytes} bytes")
    return bytes(body)
