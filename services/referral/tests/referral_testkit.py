"""What referral's tests share: the referral service served beside the session's stack (with its own client at
identity for token exchange), institutions with directory entries for referrals, their clients for
referral and intake, complaints with consent, and webhook receivers."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from comitas_shared.db import Database
from comitas_shared.testing import ServedApp, eventually

INTAKE, REFERRAL, IDENTITY = "urn:comitas:intake", "urn:comitas:referral", "urn:comitas:identity"
VICTIM_NAME, PASSPORT = "Amina Diallo", "X1234567"
NARRATIVE = "Held overnight at the Ventimiglia post, then driven back across the border."
COMPLAINT: dict[str, Any] = {
    "summary": "Detained at the border and returned without a hearing.",
    "respondent_states": ["IT"],
    "victims": [{"name": VICTIM_NAME, "birth_date": "1990-02-01",
                 "identity_documents": [{"kind": "passport", "number": PASSPORT}],
                 "contacts": [{"kind": "phone", "value": "+33 1 23 45 67 89"}]}],
    "incidents": [{"start": "2025-03-02", "country": "IT", "place": "Ventimiglia border post",
                   "narrative": NARRATIVE}],
    "urgency": {"level": "normal"},
}
RECIPIENT_PROFILE: dict[str, Any] = {
    "time_zone": "Europe/Rome", "languages": ["it", "en"],
    "mandate": {"subject_areas": ["general"], "countries": ["IT"]},
    "accepts_referrals": True, "referral_kinds": ["referral", "transfer"],
    "referral_purposes": ["investigate", "legal_aid", "for_information"],
    "acknowledgement_period": {"amount": 3, "unit": "working_days"},
    "response_period": {"amount": 10, "unit": "working_days"},
}


@dataclass
class Referral:
    served: ServedApp
    database_url: str
    service: Any

    @property
    def app(self) -> Any:
        return self.served.app


@dataclass
class Party:
    credentials: Any
    referral: httpx.AsyncClient
    intake: httpx.AsyncClient
    opened: list[httpx.AsyncClient] = field(default_factory=list)
    name: str = ""

    @property
    def id(self) -> str:
        return str(self.credentials.institution_id)


async def token(stack: Any, credentials: Any, resource: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", "resource": resource}
    if scope:
        data["scope"] = scope
    answer = await stack.http.post(f"{stack.identity.url}/oauth/token", data=data,
                                   auth=(credentials.client_id, credentials.client_secret))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def client(stack: Any, credentials: Any, base_url: str, resource: str, scope: str | None = None) -> httpx.AsyncClient:
    bearer = await token(stack, credentials, resource, scope)
    return httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


async def entry_of(referral: Referral, institution_id: str) -> Any:
    from comitas_referral.directory import service as directory

    database = Database(referral.database_url)
    try:
        async with database.transaction() as session:
            return await directory.entry(session, institution_id)
    finally:
        await database.dispose()


async def new_party(stack: Any, referral: Referral, name: str, *, country: str = "FR", kind: str = "nhri",
                    profile: dict[str, Any] | None = None, scope: str | None = None) -> Party:
    """An institution with a client, its directory entry as ``profile`` says (set by itself, with
    directory:manage), and referral's read model caught up with it."""
    registered = f"{name} {uuid.uuid4().hex[:4]}"
    credentials = await stack.new_institution(registered, kind=kind, country=country)
    if profile:
        async with await client(stack, credentials, stack.identity.url, IDENTITY, "directory:manage") as identity:
            changed = await identity.patch(f"/v1/institutions/{credentials.institution_id}", json=profile)
            assert changed.status_code == 200, changed.text
            version = changed.json()["version"]
    else:
        version = 1

    async def caught_up() -> bool:
        found = await entry_of(referral, credentials.institution_id)
        return found is not None and found.version >= version

    await eventually(caught_up, timeout=20)
    return Party(credentials, await client(stack, credentials, referral.served.url, REFERRAL, scope),
                 await client(stack, credentials, stack.intake.url, INTAKE), name=registered)


async def close_parties(*parties: Party) -> None:
    for party in parties:
        await party.referral.aclose()
        await party.intake.aclose()


async def complaint(party: Party, **changes: Any) -> str:
    body = copy.deepcopy(COMPLAINT) | changes
    created = await party.intake.post("/v1/complaints", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def consent(party: Party, complaint_id: str, recipient: str, *, purposes: list[str],
                  categories: list[str]) -> str:
    given = await party.intake.post(f"/v1/complaints/{complaint_id}/consents", json={
        "status": "given", "purposes": purposes, "recipient": {"type": "institution", "value": recipient},
        "categories": categories, "channel": "in_person"})
    assert given.status_code == 201, given.text
    return str(given.json()["id"])


async def refer(party: Party, complaint_id: str, recipient: Party, *, status: int = 201, key: str | None = None,
                **changes: Any) -> dict[str, Any]:
    body = {"complaint_id": complaint_id, "recipient_institution_id": recipient.id, "purpose": "investigate",
            "categories": ["identity", "narrative"], **changes}
    headers = {"Idempotency-Key": key} if key else {}
    answer = await party.referral.post("/v1/referrals", json=body, headers=headers)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


async def act(party: Party, referral_id: str, action: str, payload: dict[str, Any] | None = None,
              status: int = 200) -> dict[str, Any]:
    answer = await party.referral.post(f"/v1/referrals/{referral_id}/{action}", json=payload)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


class Receiver:
    """A webhook endpoint that records what it receives (one per institution)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.served = ServedApp(self._app())

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def hook(request: Request) -> Response:
            self.received.append(json.loads(await request.body()))
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    @property
    def url(self) -> str:
        return f"{self.served.url}/hook"

    def types(self, subject: str) -> list[str]:
        return [e["type"] for e in self.received if e.get("subject") == subject]


async def subscribe(stack: Any, party: Party, receiver: Receiver,
                    event_types: tuple[str, ...] = ("comitas.referral.*",)) -> None:
    async with await stack.client_for("notifications", party.credentials) as api:
        created = await api.post("/v1/subscriptions", json={"event_types": list(event_types), "url": receiver.url})
    assert created.status_code == 201, created.text


async def database_dump(url: str) -> str:
    """Every value of every table of referral's database, as text (what a dump would show)."""
    from sqlalchemy import MetaData, select

    database = Database(url)
    found: list[str] = []
    try:
        async with database.engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            for table in metadata.sorted_tables:
                for row in (await connection.execute(select(table))).all():
                    found.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    finally:
        await database.dispose()
    return "\n".join(found)
