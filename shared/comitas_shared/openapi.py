"""OpenAPI that tells the truth: every operation declares the problems it can answer with, in the shape
the services send them, and the OAuth 2.0 scheme and scopes it needs (docs/adr/0016-openapi-that-tells-the-truth.md).

FastAPI documents what a route answers when all goes well and, for a route with parameters, a 422 in its
own ``HTTPValidationError`` shape, which no Comitas service sends. :func:`install_openapi` (called by
``create_service_app``) rewrites FastAPI's document when it is built (on first request, and again if
routes change):

- a ``Problem`` component (RFC 9457, with the validation ``errors`` list of JSON Pointers or parameters)
  served as ``application/problem+json``, and on every operation the 4xx/5xx it can answer, derived from
  the route rather than written per route (see :func:`derived_problems`);
- the OAuth 2.0 security scheme (client credentials and authorization code at the issuer's
  ``/oauth/token``), with each operation's scopes, which FastAPI collects from ``Scoped(...)``.

A route (or its router) adds what cannot be derived with ``responses=``: ``problem_responses(...)`` for
problems (``problem_responses(ComplaintErased)`` documents its 410), or any content of its own (an OAuth
error, an HTML page). A
status the route declares without content is left as the route wrote it unless it is also derived, and
then it gets the problem schema. A dependency that can refuse a request (a throttle) says so with
:func:`answers_with`, and every route using it inherits the statuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BeforeValidator
from starlette.routing import BaseRoute

from .errors import PROBLEM_JSON, Problem

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM_REF = "#/components/schemas/Problem"
IDEMPOTENCY_HEADER = "idempotency-key"
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
_ANSWERS_WITH = "__comitas_answers_with__"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details. `type` is stable per kind of error; a problem may carry more "
                   "members of its own (`retry_after`, `required_scopes`, OAuth's `error`…).",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a URI under https://comitas.dev/problems/"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the path of the request"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemError"},
                   "description": "what is wrong with the request, one entry per problem (validation errors)"},
    },
    "additionalProperties": True,
}
PROBLEM_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ProblemError",
    "description": "One invalid part of a request: a body member by `pointer`, or a parameter by name and place.",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string"},
        "pointer": {"type": "string", "description": "JSON Pointer (RFC 6901) into the body; empty: the body itself"},
        "parameter": {"type": "string"},
        "in": {"type": "string", "enum": ["query", "header", "path", "cookie"]},
    },
    "additionalProperties": True,
}

_WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "RFC 6750 §3: the Bearer challenge and why it failed",
                                          "schema": {"type": "string"}}}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "integer", "minimum": 1}}}
_HEADERS = {401: _WWW_AUTHENTICATE, 403: _WWW_AUTHENTICATE, 429: _RETRY_AFTER}
_DESCRIPTIONS = {
    400: "The body cannot be parsed (not text in the declared encoding)",
    401: "The access token is missing, malformed, expired, revoked or not meant for this service "
         "(`WWW-Authenticate` says which)",
    403: "The access token lacks a scope this operation needs",
    404: "Not found: no such resource for the caller's institution (another institution's resources are "
         "not found either)",
    409: "Conflict: the resource's state does not allow this, or a request with this Idempotency-Key is "
         "still being processed",
    413: "The body is larger than this service accepts",
    422: "The request does not match the schema (`errors` lists each problem), or the service cannot "
         "decide on the facts given",
    429: "Too many attempts; `Retry-After` says when to try again",
    503: "A dependency is unreachable",
}


def problem_response(description: str, status: int | None = None) -> dict[str, Any]:
    """One documented problem+json answer, for a route's ``responses=``."""
    response: dict[str, Any] = {"description": description,
                                "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}}
    if status in _HEADERS:
        response["headers"] = dict(_HEADERS[status])
    return response


def problem_responses(*problems: type[Problem] | int) -> dict[int | str, dict[str, Any]]:
    """``responses=problem_responses(ComplaintErased, 409)``: Problem classes or statuses, each described
    by its title (or the generic description of its status); two of one status share it."""
    responses: dict[int | str, dict[str, Any]] = {}
    for problem in problems:
        status = problem if isinstance(problem, int) else problem.status
        description = _DESCRIPTIONS.get(status, "Problem") if isinstance(problem, int) else problem.title
        if status in responses:
            description = f"{responses[status]['description']}; {description}"
        responses[status] = problem_response(description, status)
    return responses


def answers_with(*problems: type[Problem] | int) -> Callable[[F], F]:
    """Marks a dependency that can refuse a request (``@answers_with(TooManyRequests)`` on a throttle):
    every operation using it documents these statuses."""
    statuses = tuple(p if isinstance(p, int) else p.status for p in problems)

    def mark(function: F) -> F:
        setattr(function, _ANSWERS_WITH, statuses)
        return function

    return mark


def _iso_text(value: Any) -> Any:
    """A date or an instant travels as ISO 8601 text; pydantic would also read a number (or a string of
    digits) as a Unix time, which the document (``format: date``, ``date-time``) does not allow."""
    if isinstance(value, bool):
        return value  # pydantic refuses it anyway
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError("write it as an ISO 8601 string")
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Request fields that accept exactly what the document says (negative_data_rejection holds): a date as
# "2026-01-31", an instant as "2026-01-31T09:00:00Z", never 0. For booleans in a body, pydantic's
# StrictBool does the same (no 0/1, no "yes").
IsoDate = Annotated[date, BeforeValidator(_iso_text)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def _dependency_statuses(dependant: Dependant) -> set[int]:
    found: set[int] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        found.update(getattr(current.call, _ANSWERS_WITH, ()))
        stack.extend(current.dependencies)
    return found


def _is_fastapi_validation(response: Mapping[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def derived_problems(route: Any, method: str, operation: Mapping[str, Any]) -> set[int]:
    """What this operation can answer besides success, from its shape:

    - 401 when it needs an access token, 403 when the token needs scopes (its security requirement);
    - 404 when its path names a resource (tenancy: another institution's is not found either);
    - 422 when FastAPI validates its parameters or body, 413 when it takes a body, 400 when FastAPI parses
      that body (bytes that are not text in the declared encoding);
    - 409 and 422 when it takes an ``Idempotency-Key`` (key in use; key reused with another body);
    - 409 when it changes a named resource (POST/PUT/PATCH/DELETE on a path with parameters), whose state
      may not allow it (``InvalidTransition``);
    - whatever its dependencies declare with :func:`answers_with` (429 for a throttle).
    """
    statuses: set[int] = set()
    requirements = operation.get("security") or []
    if requirements:
        statuses.add(401)
        if any(scopes for requirement in requirements for scopes in requirement.values()):
            statuses.add(403)
    parameters = operation.get("parameters") or []
    if route.param_convertors or any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if any(_is_fastapi_validation(r) for r in operation.get("responses", {}).values()):
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
    if getattr(route, "body_field", None) is not None:
        statuses.add(400)
    if any(p.get("in") == "header" and str(p.get("name", "")).lower() == IDEMPOTENCY_HEADER for p in parameters):
        statuses.update({409, 422})
    if method in UNSAFE_METHODS and route.param_convertors:
        statuses.add(409)
    statuses.update(_dependency_statuses(route.dependant))
    return statuses


def _truthful_operation(route: Any, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    derived = derived_problems(route, method, operation)
    declared_by_route = {str(status) for status in route.responses}
    for key in list(responses):
        if _is_fastapi_validation(responses[key]) and key not in declared_by_route:
            del responses[key]
    for status in sorted(derived):
        response = responses.setdefault(str(status), {"description": _DESCRIPTIONS.get(status, "Problem")})
        if not response.get("content"):
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
        if status in _HEADERS and "headers" not in response:
            response["headers"] = dict(_HEADERS[status])
        if status == 403 and response["description"] == _DESCRIPTIONS[403]:
            scopes = sorted({s for requirement in operation.get("security") or [] for each in requirement.values()
                             for s in each})
            response["description"] = f"{_DESCRIPTIONS[403]}: {' '.join(scopes)}"
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: item[0]))


def _drop_unreferenced(document: dict[str, Any], names: Iterable[str]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name in names:
        if name in schemas:
            held = schemas.pop(name)
            if f'"#/components/schemas/{name}"' in json.dumps(document):
                schemas[name] = held


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """Every APIRoute as mounted (its prefix applied), also through routers FastAPI includes lazily."""
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:  # FastAPI before lazily included routers: app.routes holds the APIRoutes
        yield from (route for route in routes if isinstance(route, APIRoute))
        return
    for context in contexts(routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def truthful(document: dict[str, Any], routes: Sequence[BaseRoute], *, issuer: str) -> dict[str, Any]:
    """``document`` (FastAPI's), changed in place: the problems of every operation, the Problem schema
    instead of HTTPValidationError, and the OAuth URLs made absolute at ``issuer``."""
    paths = document.get("paths", {})
    for route in _api_routes(routes):
        if not route.include_in_schema:
            continue
        for method in sorted(route.methods):
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _truthful_operation(route, method.lower(), operation)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemError"] = PROBLEM_ERROR_SCHEMA
    _drop_unreferenced(document, ("HTTPValidationError", "ValidationError"))
    base = issuer.rstrip("/")
    for scheme in components.get("securitySchemes", {}).values():
        for flow in scheme.get("flows", {}).values():
            for key in ("tokenUrl", "authorizationUrl", "refreshUrl"):
                if isinstance(flow.get(key), str) and flow[key].startswith("/"):
                    flow[key] = base + flow[key]
    return document


def install_openapi(app: FastAPI, *, issuer: str) -> None:
    """Serve the truthful document at the app's ``openapi_url`` (built on first request, then cached)."""
    build = app.openapi
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        document = build()  # FastAPI's, cached until routes change
        if id(document) not in done:
            truthful(document, app.routes, issuer=issuer)
            done[:] = [id(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
