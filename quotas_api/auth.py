"""Who is asking: the API key in `Authorization: Bearer <key>`, checked against the key ring."""

from starlette.types import Scope

from quotas_api.api_keys import ApiKey
from quotas_api.errors import ApiError
from quotas_api.services import services

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="quotas"'}


def authenticate(scope: Scope) -> ApiKey:
    # Straight from the raw headers: this runs on every lookup, and a Headers object costs more.
    header = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value
            break
    if header is None:
        raise ApiError(401, "missing_api_key", "send an API key as 'Authorization: Bearer <key>'", CHALLENGE)
    scheme, _, token = header.partition(b" ")
    token = token.strip()
    key = services(scope).keys.authenticate(token) if scheme.lower() == b"bearer" and token else None
    if key is None:
        raise ApiError(401, "invalid_api_key", "the API key is not valid", CHALLENGE)
    return key
