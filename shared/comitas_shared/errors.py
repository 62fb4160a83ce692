"""RFC 9457 problem details: every error leaves a service as ``application/problem+json``.

Services raise :class:`Problem` (or a subclass); routers never build error responses by hand. Each
problem has a stable ``type`` URI under ``https://comitas.dev/problems/``. Pure domain functions know
nothing of HTTP: they raise a :class:`DomainError` (:class:`InvalidInput`, :class:`InvalidTransition`),
which the handler installed here turns into the matching problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_BASE = "https://comitas.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error with its problem type and HTTP status."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class Unprocessable(Problem):
    status, slug, title = 422, "unprocessable", "Unprocessable request"


class Unauthorized(Problem):
    status, slug, title = 401, "invalid-token", "Invalid or missing access token"


class InsufficientScope(Problem):
    status, slug, title = 403, "insufficient-scope", "Insufficient scope"


class ServiceUnavailable(Problem):
    status, slug, title = 503, "unavailable", "Service unavailable"


class DomainError(Exception):
    """A decision the domain refuses, in the domain's words. ``problem`` is the HTTP kind it becomes."""

    problem: type[Problem] = Unprocessable
    slug: str = "unprocessable"
    title: str = "Unprocessable request"

    def __init__(self, detail: str, *, slug: str | None = None, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.extra = extra

    def as_problem(self) -> Problem:
        return self.problem(self.detail, slug=self.slug, title=self.title, **self.extra)


class InvalidInput(DomainError):
    """The facts given cannot be decided on (422)."""


class InvalidTransition(DomainError):
    """The action is not allowed from the record's current state (409)."""

    problem = Conflict
    slug, title = "invalid-transition", "Action not allowed in this state"


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance=str(request.url.path) if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    """JSON Pointer (RFC 6901) to the offending field; the leading 'body'/'query' is the location."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc[1:]]
    return "/" + "/".join(parts)


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        where = loc[0] if loc else "body"
        entry: dict[str, Any] = {"detail": err.get("msg", "invalid"), "pointer": _pointer(loc)}
        if where != "body":
            entry = {"detail": err.get("msg", "invalid"), "parameter": ".".join(str(p) for p in loc[1:]),
                     "in": where}
        if err.get("type") == "json_invalid":
            entry = {"detail": "the body is not valid JSON", "pointer": ""}
        elif err.get("type") == "extra_forbidden":
            entry["detail"] = "unknown field"
        errors.append(entry)
    return Unprocessable(
        "the request does not match the schema", slug="validation-error", title="Validation error",
        errors=errors,
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.as_problem(), request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, f"http-{exc.status_code}"
        )
        return problem_response(
            Problem(str(exc.detail), status=exc.status_code, slug=slug, title=str(exc.detail),
                    headers=dict(exc.headers or {})),
            request,
        )


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` with 413 before the endpoint sees them, whether or not the
    client sent a Content-Length (chunked bodies are counted as they stream in).

    ``larger`` names the few routes that take more (evidence uploads), as (method, path pattern, limit):
    the store behind them enforces its own limit as it streams, so these stay a backstop."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 larger: Sequence[tuple[str, str, int]] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = [(method.upper(), re.compile(pattern), limit) for method, pattern, limit in larger]

    def _limit_for(self, scope: Scope) -> int:
        for method, pattern, limit in self.larger:
            if scope.get("method") == method and pattern.fullmatch(scope.get("path", "")):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(send, max_bytes)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            # The 413 goes out as soon as the limit is passed; the app is then told the client left,
            # so whatever it was doing with the body is abandoned and nothing is written.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    refused = True
                    await self._refuse(send, max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        body = json.dumps(Problem(f"the body is larger than {max_bytes} bytes", status=413,
                                  slug="payload-too-large", title="Payload too large").body()).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

