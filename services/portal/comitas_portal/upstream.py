"""Calls to the services' public APIs with the signed-in officer's token, exactly as a partner's system
makes them. An answer that is not a success comes back as :class:`UpstreamProblem`, the service's
problem+json kept whole so that a page can put each error next to the field it names."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from .settings import PortalSettings

SERVICES = ("identity", "intake", "referral", "mla", "notifications")


@dataclass
class UpstreamProblem(Exception):
    """A service refused or failed: its status and its problem document (RFC 9457) when it sent one."""

    service: str
    status: int
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or self.problem.get("error_description")
                   or f"{self.service} answered {self.status}")

    def field_errors(self) -> dict[str, list[str]]:
        """The problem's ``errors`` by the form field they concern: a JSON pointer's first segment
        (``/summary`` → ``summary``), or the parameter's name; the rest under ``""``."""
        found: dict[str, list[str]] = {}
        for error in self.problem.get("errors") or []:
            if not isinstance(error, dict):
                continue
            pointer = str(error.get("pointer") or "")
            name = pointer.strip("/").split("/")[0] if pointer else str(error.get("parameter") or "")
            found.setdefault(name, []).append(str(error.get("detail") or ""))
        return found

    def __str__(self) -> str:
        return f"{self.service} {self.status}: {self.detail}"


class Unreachable(Exception):
    """A service did not answer (not running, or not deployed here)."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service


class TokenRefused(Exception):
    """A service answered 401: the session's token expired or was revoked; the officer signs in again."""


T = TypeVar("T")


@dataclass
class Section:
    """One part of a page that lists what a service answered: its items, or why there are none to show."""

    items: list[dict[str, Any]] = field(default_factory=list)
    unavailable: bool = False
    error: str | None = None


async def section(call: Awaitable[Any]) -> Section:
    """The items a call answers (a page of them, or a list). A service that does not answer (not deployed,
    down) leaves its section unavailable, and the rest of the page is still shown."""
    try:
        answer = await call
    except Unreachable:
        return Section(unavailable=True)
    except UpstreamProblem as problem:
        # 403: the officer's account lacks the scope; 404: the service has no such API (not yet deployed).
        return Section(unavailable=problem.status == 404, error=None if problem.status == 404 else problem.detail)
    items = answer["items"] if isinstance(answer, dict) and "items" in answer else answer
    return Section(items=list(items or []))


async def optional(call: Awaitable[T], default: T, *, missing: list[str] | None = None,
                   statuses: Collection[int] | None = None) -> T:
    """What a call answers, or ``default`` for what a page can go without: when the service does not
    answer (its name then added to ``missing``, for the page to say so), or refuses with one of
    ``statuses`` (any status when None; another is raised)."""
    try:
        return await call
    except Unreachable as unreachable:
        if missing is not None:
            missing.append(unreachable.service)
        return default
    except UpstreamProblem as problem:
        if statuses is None or problem.status in statuses:
            return default
        raise


# The paths the portal calls are built from ids in its own URLs: anything but these characters (a dot-dot,
# an encoded slash, a query) is not an id of ours, and is not found.
SAFE_PATH = re.compile(r"^(/[A-Za-z0-9_:-][A-Za-z0-9_.:-]*)+$")
# Institutions' names change rarely; a page shows many ids.
NAMES_TTL_SECONDS = 600.0


class Upstream:
    def __init__(self, settings: PortalSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._names: dict[str, tuple[str, float]] = {}

    async def institution_names(self, ids: Iterable[str], *, token: str) -> dict[str, str]:
        """Institutions' names from identity's directory (which any holder of directory:read may read),
        kept for a while; an id that cannot be read stands for itself."""
        wanted = {i for i in ids if i}
        now = time.monotonic()
        missing = [i for i in wanted if i not in self._names or self._names[i][1] < now]

        async def read(institution_id: str) -> None:
            try:
                entry = await self.get("identity", f"/v1/institutions/{institution_id}", token=token)
            except (UpstreamProblem, Unreachable, TokenRefused):
                return
            self._names[institution_id] = (str(entry.get("name") or institution_id), now + NAMES_TTL_SECONDS)

        await asyncio.gather(*(read(i) for i in missing))
        return {i: self._names[i][0] if i in self._names else i for i in wanted}

    def url(self, service: str) -> str:
        if service not in SERVICES:
            raise ValueError(service)
        return str(getattr(self.settings, f"{service}_url")).rstrip("/")

    async def call(self, service: str, method: str, path: str, *, token: str, json: Any = None,
                   params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        if not SAFE_PATH.match(path) or ".." in path:
            raise UpstreamProblem(service, 404, {"detail": "not found"})
        try:
            response = await self.http.request(method, f"{self.url(service)}{path}", json=json, params=params,
                                               headers={"Authorization": f"Bearer {token}", **(headers or {})})
        except httpx.TransportError:
            raise Unreachable(service) from None
        if response.status_code == 401:
            raise TokenRefused(service)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            raise UpstreamProblem(service, response.status_code, problem if isinstance(problem, dict) else {})
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, service: str, path: str, *, token: str, **kwargs: Any) -> Any:
        return await self.call(service, "GET", path, token=token, **kwargs)

    async def post(self, service: str, path: str, *, token: str, **kwargs: Any) -> Any:
        return await self.call(service, "POST", path, token=token, **kwargs)
