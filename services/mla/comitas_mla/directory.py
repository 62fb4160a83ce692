"""The institutions directory (identity's ``GET /v1/institutions/{id}``), asked with the caller's token.

mla keeps no copy of the directory: whether an institution is a central authority, and of which state,
is read when a request is drafted, on the caller's own authority (DESIGN §3: a service calling another
for an institution carries that institution's token). The token must carry ``directory:read`` and an
audience identity accepts; where clients ask for tokens naming one service each (ADR 0008) the token
must name both ``urn:comitas:mla`` and ``urn:comitas:identity`` (until token exchange, RFC 8693, exists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from comitas_shared.errors import InvalidInput, Problem, ServiceUnavailable

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CENTRAL_AUTHORITY = "central_authority"


@dataclass(frozen=True)
class Authority:
    id: str
    name: str
    kind: str
    country: str
    active: bool
    # Where the directory says so: the zone and subdivision its periods are counted in, and its closures.
    time_zone: str | None = None
    subdivision: str | None = None
    closures: tuple[dict[str, Any], ...] = ()

    def calendar(self) -> dict[str, Any]:
        """What a request keeps of the requested authority's calendar (``requests/deadlines.py``)."""
        return {"time_zone": self.time_zone, "subdivision": self.subdivision, "closures": list(self.closures)}

    @property
    def is_central_authority(self) -> bool:
        return self.kind == CENTRAL_AUTHORITY and self.active


class DirectoryUnreadable(Problem):
    status, slug, title = 403, "directory-unreadable", "The institutions directory cannot be read with this token"


class Directory:
    def __init__(self, http: httpx.AsyncClient, identity_url: str) -> None:
        self.http = http
        self.identity_url = identity_url.rstrip("/")

    async def authority(self, institution_id: str, *, token: str) -> Authority | None:
        """The directory's entry for ``institution_id`` (``None``: no such institution)."""
        if not _ID.match(institution_id):
            raise InvalidInput(f"{institution_id!r} is not an institution id", slug="invalid-institution-id")
        try:
            response = await self.http.get(f"{self.identity_url}/v1/institutions/{institution_id}",
                                            headers={"Authorization": f"Bearer {token}"}, timeout=5)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("the institutions directory (identity) cannot be reached") from exc
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise DirectoryUnreadable(
                "drafting a request looks both authorities up in the institutions directory with the caller's token, "
                "which needs the scope directory:read and an audience identity accepts "
                f"(identity answered {response.status_code})")
        if response.status_code != 200:
            raise ServiceUnavailable(f"the institutions directory answered {response.status_code}")
        body = response.json()
        closures = tuple(c for c in body.get("closures") or () if isinstance(c, dict) and c.get("day"))
        return Authority(id=str(body["id"]), name=str(body["name"]), kind=str(body["kind"]),
                         country=str(body["country"]).upper(), active=bool(body.get("active", True)),
                         time_zone=body.get("time_zone") or None, subdivision=body.get("subdivision") or None,
                         closures=closures)


