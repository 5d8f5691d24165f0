"""Stripe's v1 wire format: bracket-notation form parameters in, Stripe-shaped errors out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


@dataclass
class ApiError(Exception):
    """An error answered the way Stripe answers it: an HTTP status and an `error` object."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
                **self.extra,
            }
        }


def no_such(kind: str, object_id: str, param: str = "id", status: int = 404) -> ApiError:
    return ApiError(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def decode_form(text: str) -> dict[str, Any]:
    """Nest `a[b][0][c]=v` pairs into dicts; `a[]=v` appends to a list.

    Numeric segments stay dict keys (ints) because metadata keys may be digits too;
    `as_list` turns them into lists where a list is what the endpoint expects.
    """
    params: dict[str, Any] = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = raw_key.partition("[")
        segments = [head] + (_SEGMENT.findall("[" + rest) if rest else [])
        _assign(params, segments, value, raw_key)
    return params


def _assign(container: dict[Any, Any], segments: list[str], value: str, raw_key: str) -> None:
    node: Any = container
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        key: Any = int(segment) if segment.isdigit() and index > 0 else segment
        if segment == "" and index > 0:
            if not isinstance(node, list):
                raise ApiError(400, f"Invalid array: {raw_key}", param=raw_key)
            if last:
                node.append(value)
                return
            node.append({})
            node = node[-1]
            continue
        if not isinstance(node, dict):
            raise ApiError(400, f"Invalid hash: {raw_key}", param=raw_key)
        if last:
            node[key] = value
            return
        wants_list = segments[index + 1] == ""
        child = node.get(key)
        if child is None or isinstance(child, str):
            child = [] if wants_list else {}
            node[key] = child
        node = child


def as_list(value: Any, param: str) -> list[Any]:
    """A parameter sent as `p[0]=..&p[1]=..` or `p[]=..`, in index order."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(isinstance(k, int) for k in value):
        return [value[k] for k in sorted(value)]
    raise ApiError(400, f"Invalid array: {param}", code="parameter_invalid_array", param=param)


def reject_unknown(params: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    for name in params:
        if name in allowed or (name == "expand" and not prefix):
            continue
        param = f"{prefix}[{name}]" if prefix else str(name)
        raise ApiError(400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def to_int(value: Any, param: str, minimum: int | None = None) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        number = int(value)
        if minimum is None or number >= minimum:
            return number
        raise ApiError(400, f"This value must be greater than or equal to {minimum}.", param=param)
    raise ApiError(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)


def to_bool(value: Any, param: str) -> bool:
    if value in ("true", "false"):
        return value == "true"
    raise ApiError(400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=param)


def to_str(value: Any, param: str) -> str:
    if isinstance(value, str):
        return value
    raise ApiError(400, f"Invalid string: {param}", code="parameter_invalid_string", param=param)


def optional_str(params: dict[str, Any], name: str) -> str | None:
    """Stripe clears a string field when it is posted empty."""
    value = to_str(params[name], name)
    return value or None


def require(params: dict[str, Any], name: str, prefix: str = "") -> Any:
    if name not in params or params[name] == "":
        param = f"{prefix}[{name}]" if prefix else name
        raise ApiError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)
    return params[name]


def merge_metadata(current: dict[str, str], update: Any, param: str = "metadata") -> dict[str, str]:
    """Stripe's metadata rules: keys merge, an empty value unsets a key, an empty string unsets all."""
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise ApiError(400, "Invalid hash", code="parameter_invalid_hash", param=param)
    merged = dict(current)
    for key, value in update.items():
        key = str(key)
        value = to_str(value, f"{param}[{key}]")
        if len(key) > 40:
            raise ApiError(400, "Metadata keys can have up to 40 characters.", param=f"{param}[{key}]")
        if len(value) > 500:
            raise ApiError(400, "Metadata values can have up to 500 characters.", param=f"{param}[{key}]")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise ApiError(400, "Metadata can have up to 50 keys.", param=param)
    return merged


def period_param(value: Any, param: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid hash", code="parameter_invalid_hash", param=param)
    start = to_int(require(value, "start", param), f"{param}[start]")
    end = to_int(require(value, "end", param), f"{param}[end]")
    if end < start:
        raise ApiError(400, "The period end must be greater than or equal to the start.", param=f"{param}[end]")
    return {"start": start, "end": end}
