"""Helpers of the identity tests (a module of its own: conftest modules are not importable by name)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from comitas_identity import admin
from comitas_identity.settings import IdentitySettings
from comitas_shared import randomness
from comitas_shared.db import Database
from comitas_shared.scopes import SCOPES
from comitas_shared.testing import ServedApp

ALL_SCOPES = sorted(s for s in SCOPES if s != "admin")


@dataclass(frozen=True)
class Registered:
    institution_id: str
    client_id: str
    client_secret: str | None
    scopes: list[str]

    @property
    def basic(self) -> tuple[str, str]:
        return self.client_id, self.client_secret or ""


@dataclass
class Identity:
    served: ServedApp
    settings: IdentitySettings
    database: Database
    database_url: str
    http: httpx.AsyncClient
    nats_url: str

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def master_key(self) -> str:
        return self.settings.master_key.get_secret_value()

    async def institution(self, *, kind: str = "nhri", country: str = "FR") -> str:
        return await admin.register_institution(
            self.database, name=f"Test {uuid.uuid4().hex[:8]}", kind=kind, country=country
        )

    async def client(
        self, *, scopes: list[str] | None = None, institution_id: str | None = None, **options: object
    ) -> Registered:
        institution_id = institution_id or await self.institution()
        created = await admin.register_client(
            self.database,
            institution_id=institution_id,
            name="tests",
            scopes=ALL_SCOPES if scopes is None else scopes,
            **options,
        )  # type: ignore[arg-type]
        return Registered(institution_id, created.client_id, created.client_secret, created.scopes)

    async def token_response(self, client: Registered, scope: str | None = None) -> httpx.Response:
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        return await self.http.post(f"{self.url}/oauth/token", data=data, auth=client.basic)

    async def token(self, client: Registered, scope: str | None = None) -> str:
        response = await self.token_response(client, scope)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    async def introspect(self, caller: Registered, token: str) -> dict:
        response = await self.http.post(
            f"{self.url}/oauth/introspect", data={"token": token}, auth=caller.basic
        )
        assert response.status_code == 200, response.text
        return response.json()


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = randomness.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_of(page: httpx.Response) -> str | None:
    found = CSRF_FIELD.search(page.text)
    return found.group(1) if found else None


async def post_sign_in(http: httpx.AsyncClient, base_url: str, params: dict[str, str] | list[tuple[str, str]],
                  email: str, password: str, **headers: str) -> httpx.Response:
    """As a browser does: the sign-in page first (its cookie lands in ``http``'s jar), then the form
    with the page's CSRF token. A request refused before any form is shown is posted without one."""
    page = await http.get(f"{base_url}/oauth/authorize", params=params, headers=headers)
    items = list(params.items()) if isinstance(params, dict) else list(params)
    token = csrf_token_of(page)
    if token is not None:
        items.append(("csrf_token", token))
    body = urlencode([*items, ("email", email), ("password", password)])
    return await http.post(f"{base_url}/oauth/authorize", content=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded", **headers})


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def unverified_header(token: str) -> dict[str, Any]:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
