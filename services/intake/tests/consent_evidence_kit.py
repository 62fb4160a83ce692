"""Helpers of the consent and evidence tests (a module of its own: conftest modules are not importable
by name).

The evidence tests serve intake a second time, in this process, on the stack's intake database and
NATS, with their own evidence directory and size limit (the platform's 1 MB body limit stays on every
other route).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from comitas_intake.main import create_app
from comitas_intake.protection import service as protection
from comitas_intake.settings import IntakeSettings
from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database
from comitas_shared.testing import ServedApp

COMPLAINT = {
    "summary": "Detained at the border and returned without a hearing.",
    "respondent_states": ["FR"],
    "victims": [{"name": "Amina Diallo", "birth_date": "1990-02-01",
                 "identity_documents": [{"kind": "passport", "number": "X1234567"}],
                 "contacts": [{"kind": "phone", "value": "+33 1 23 45 67 89"}]}],
    "incidents": [{"start": "2025-03-02", "country": "FR", "place": "Menton border post",
                   "narrative": "Held overnight, then driven back across the border."}],
    "urgency": {"level": "normal"},
}
PURPOSE = {"Comitas-Purpose": "examine the case before referral"}


async def served_intake(stack: Any, evidence_dir: Path, **settings: Any) -> ServedApp:
    common = {"environment": "test", "nats_url": stack.nats.url, "issuer": stack.issuer, "outbox_poll_seconds": 0.2}
    app = create_app(IntakeSettings(database_url=stack.database_urls["intake"], evidence_dir=str(evidence_dir),
                                    **(common | settings)))
    return await ServedApp(app).start()


async def client(stack: Any, served: ServedApp, credentials: Any, scope: str | None = None) -> httpx.AsyncClient:
    token = await stack.token(credentials, scope)
    return httpx.AsyncClient(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


async def new_complaint(stack: Any, api: httpx.AsyncClient, institution_id: str) -> str:
    """A complaint of ``institution_id`` (the caller of ``api``); submission makes its key."""
    created = await api.post("/v1/complaints", json=COMPLAINT)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def erase_key(stack: Any, institution_id: str, complaint_id: str) -> None:
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            assert await protection.destroy_key(session, institution_id=InstitutionId(institution_id),
                                                complaint_id=complaint_id, now=datetime.now(UTC))
    finally:
        await database.dispose()


async def rows(stack: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]
    finally:
        await database.dispose()


async def count(stack: Any, table: str, **where: Any) -> int:
    from comitas_intake.models import metadata

    t = metadata.tables[table]
    query = select(func.count()).select_from(t)
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            return int((await session.execute(query)).scalar_one())
    finally:
        await database.dispose()


async def audit(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The caller's whole audit log, newest first."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = (await api.get("/v1/audit", params={"limit": 100} | ({"cursor": cursor} if cursor else {}))).json()
        entries += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return entries


def unique() -> str:
    return uuid.uuid4().hex[:8]
