"""What every Stripe route does: read its parameters, find objects, paginate lists, expand, answer."""

from __future__ import annotations

from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from stripe_local import render
from stripe_local.store import Store
from stripe_local.wire import ApiError, as_list, no_such, reject_unknown, to_int

LIST_PARAMS = {"limit", "starting_after", "ending_before", "created"}
_COMPARATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def store_of(request: Request) -> Store:
    return request.app.state.store


def params_of(request: Request, allowed: set[str], expandable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The request's parameters, refused before anything executes if one is unknown or an
    `expand[]` path names a field that holds no expandable id."""
    params = request.state.params
    reject_unknown(params, allowed)
    for path in as_list(params.get("expand", []), "expand"):
        if path not in expandable:
            raise ApiError(400, f"This property cannot be expanded ({path}).", param="expand")
    return params


def in_list(fields: frozenset[str]) -> frozenset[str]:
    """Expand paths for a list of objects whose `fields` are expandable."""
    return frozenset(f"data.{field}" for field in fields)


def fetch(store: Store, table: str, object_id: str, kind: str) -> dict[str, Any]:
    rec = store.get(table, object_id)
    if rec is None:
        raise no_such(kind, object_id)
    return rec


def reply(request: Request, obj: dict[str, Any]) -> JSONResponse:
    paths = request.state.params.get("expand")
    if paths:
        render.expand(store_of(request), obj, [str(p) for p in as_list(paths, "expand")])
    return JSONResponse(obj)


def created_filter(params: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """`created=<ts>` or `created[gt|gte|lt|lte]=<ts>`, as Stripe's list endpoints take it."""
    spec = params.get("created")
    if spec is None:
        return lambda rec: True
    if isinstance(spec, str):
        exact = to_int(spec, "created")
        return lambda rec: rec["created"] == exact
    bounds = []
    for op, value in spec.items():
        if op not in _COMPARATORS:
            raise ApiError(400, f"Received unknown parameter: created[{op}]", code="parameter_unknown",
                           param=f"created[{op}]")
        bounds.append((_COMPARATORS[op], to_int(value, f"created[{op}]")))
    return lambda rec: all(compare(rec["created"], bound) for compare, bound in bounds)


def paginate(
    request: Request,
    rows: list[dict[str, Any]],
    to_json: Callable[[dict[str, Any]], dict[str, Any]],
    kind: str,
    newest_first: bool = True,
) -> JSONResponse:
    """Cursor pagination: `limit` (1-100, default 10), `starting_after` or `ending_before` an id."""
    params = request.state.params
    limit = to_int(params.get("limit", "10"), "limit", minimum=1)
    if limit > 100:
        raise ApiError(400, "This value must be less than or equal to 100.", param="limit")
    ordered = list(reversed(rows)) if newest_first else list(rows)
    ids = [rec["id"] for rec in ordered]
    if params.get("starting_after"):
        cursor = _position(ids, params["starting_after"], kind, "starting_after")
        page, has_more = ordered[cursor + 1 : cursor + 1 + limit], len(ordered) > cursor + 1 + limit
    elif params.get("ending_before"):
        cursor = _position(ids, params["ending_before"], kind, "ending_before")
        start = max(cursor - limit, 0)
        page, has_more = ordered[start:cursor], start > 0
    else:
        page, has_more = ordered[:limit], len(ordered) > limit
    return reply(request, render.list_object([to_json(rec) for rec in page], has_more, request.url.path))


def _position(ids: list[str], object_id: str, kind: str, param: str) -> int:
    try:
        return ids.index(object_id)
    except ValueError:
        raise no_such(kind, object_id, param=param, status=400) from None
