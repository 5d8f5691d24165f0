"""Who is asking: the API key in `Authorization: Bearer <key>`, checked against the key ring."""

from starlette.requests import Request

from quotas_api.api_keys import ApiKey, KeyRing
from quotas_api.errors import ApiError

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="quotas"'}


def authenticate(request: Request) -> ApiKey:
    header = request.headers.get("authorization")
    if header is None:
        raise ApiError(401, "missing_api_key", "send an API key as 'Authorization: Bearer <key>'", CHALLENGE)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    keys: KeyRing = request.state.keys
    key = keys.authenticate(token) if scheme.lower() == "bearer" and token else None
    if key is None:
        raise ApiError(401, "invalid_api_key", "the API key is not valid", CHALLENGE)
    return key
