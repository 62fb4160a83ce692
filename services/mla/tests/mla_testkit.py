"""What mla's tests share: central authorities of given states in the session-wide stack, clients for
them, complete request bodies per legal basis, and small calls."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Authority:
    institution_id: str
    country: str
    api: httpx.AsyncClient
    credentials: Any


class Authorities:
    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.opened: list[httpx.AsyncClient] = []

    async def new(self, country: str, *, kind: str = "central_authority", scope: str | None = None,
                  name: str | None = None) -> Authority:
        credentials = await self.stack.new_institution(name or f"Central authority {country}", kind=kind,
                                                       country=country)
        api = await self.stack.client_for("mla", credentials, scope)
        self.opened.append(api)
        return Authority(credentials.institution_id, country, api, credentials)

    async def client(self, authority: Authority, service: str, scope: str | None = None) -> httpx.AsyncClient:
        api = await self.stack.client_for(service, authority.credentials, scope)
        self.opened.append(api)
        return api


UNTOC_REQUEST: dict[str, Any] = {
    "basis": "untoc_art18",
    "language": "pt",
    "case": {"reference": "PNF-2026-0042"},
    "conducting_authority": {"name": "Parquet national financier, Paris", "functions": "public prosecutor"},
    "proceedings": {"nature": "investigation", "subject": "Laundering of the proceeds of an organised trafficking network"},
    "offences": [{"name": "Money laundering", "provisions": ["Code pénal, art. 324-1"],
                  "maximum_penalty": "five years' imprisonment"}],
    "summary_of_facts": "Between 2023 and 2025 a criminal group moved funds from fraudulent invoices through "
                        "accounts opened in São Paulo by Ana Ferreira.",
    "purpose": "To trace the funds and establish who controls the accounts, as evidence for the prosecution.",
    "persons": [{"role": "account_holder", "name": "Ana Ferreira", "nationality": "BR", "location": "São Paulo"}],
    "assistance": [{"type": "bank_records", "description": "Statements of account 0001-2345 at Banco Exemplo, "
                                                           "January 2023 to March 2025."}],
    "procedures": "Certified copies, with a certificate of authenticity from the bank.",
}

EIO_REQUEST: dict[str, Any] = {
    "basis": "eio",
    "language": "de",
    "case": {"reference": "PNF-2026-0099"},
    "issuing_contact": {"name": "Claire Martin", "role": "public prosecutor", "email": "c.martin@justice.example"},
    "proceedings": {"nature": "investigation", "subject": "Corruption in public procurement"},
    "offences": [{"name": "Bribery of a public official", "provisions": ["Code pénal, art. 433-1"]}],
    "summary_of_facts": "Payments were made from an account in Munich to an official of the city of Lyon.",
    "purpose": "To prove the payments and identify the beneficial owner of the paying account.",
    "persons": [{"role": "suspect", "name": "Jürgen Weiß", "nationality": "DE", "location": "München"}],
    "assistance": [{"type": "bank_records", "description": "Statements of account DE00 1234 5678 at Beispielbank "
                                                           "München, 2024."}],
}


def body(template: dict[str, Any], requested: Authority, **changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(template)
    found["requested_institution_id"] = requested.institution_id
    for name, value in changes.items():
        if value is None:
            found.pop(name, None)
        else:
            found[name] = value
    return found


async def create(api: httpx.AsyncClient, payload: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await api.post("/v1/requests", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def act(api: httpx.AsyncClient, request_id: str, action: str, payload: dict[str, Any] | None = None,
              status: int = 200) -> dict[str, Any]:
    response = await api.post(f"/v1/requests/{request_id}/{action}", json=payload)
    assert response.status_code == status, response.text
    return response.json()


__all__ = ["EIO_REQUEST", "UNTOC_REQUEST", "Authorities", "Authority", "act", "body", "create"]


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it receives (one per authority, so a test can
    tell which side an event reached)."""

    def __init__(self) -> None:
        from comitas_shared.testing import ServedApp

        self.received: list[dict[str, Any]] = []
        self.served = ServedApp(self._app())

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def hook(request: Request) -> Response:
            self.received.append({"headers": dict(request.headers), "body": await request.body()})
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    @property
    def url(self) -> str:
        return f"{self.served.url}/hook"

    def events(self, subject: str | None = None) -> list[dict[str, Any]]:
        import json

        found = [json.loads(r["body"]) for r in self.received]
        return [e for e in found if subject is None or e.get("subject") == subject]

    def types(self, subject: str) -> list[str]:
        return [e["type"] for e in self.events(subject)]


async def subscribe(stack: Any, authority: Authority, receiver: Receiver,
                    event_types: tuple[str, ...] = ("comitas.mla.*", "comitas.deadline.*")) -> str:
    async with await stack.client_for("notifications", authority.credentials) as api:
        response = await api.post("/v1/subscriptions", json={"event_types": list(event_types), "url": receiver.url})
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


async def deadlines_at_notifications(stack: Any, authority: Authority, key_prefix: str) -> dict[str, dict[str, Any]]:
    async with await stack.client_for("notifications", authority.credentials) as api:
        response = await api.get("/v1/deadlines", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {d["deadline_key"]: d for d in response.json()["items"] if d["deadline_key"].startswith(key_prefix)}
