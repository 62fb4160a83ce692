"""The baseline: a bare FastAPI endpoint that inserts one row, on the same database plumbing as the
services (``comitas_shared.db``: same engine settings, SQLite pragmas, one transaction committed
before the response). What a complaint submission costs beyond this is what Comitas itself adds:
token validation, validation of the complaint, encryption, the outbox row, the relay's publication.

Served by ``uvicorn --factory benchmarks.bare_app:create_app``; the database is
``COMITAS_BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, Text

from comitas_shared.db import Database, Session

metadata = MetaData()
rows = Table(
    "bench_complaints", metadata,
    Column("id", String(36), primary_key=True),
    Column("summary", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class Submitted(BaseModel):
    summary: str = Field(min_length=1, max_length=20_000)
    respondent_states: list[str] = Field(default_factory=list)
    rights_invoked: list[str] = Field(default_factory=list)


def create_app() -> FastAPI:
    database = Database(os.environ["COMITAS_BENCH_DATABASE_URL"])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with database.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield
        await database.dispose()

    app = FastAPI(lifespan=lifespan)
    app.state.database = database

    @app.post("/v1/complaints", status_code=201)
    async def submit(body: Submitted, session: Session) -> dict[str, str]:
        row_id = str(uuid.uuid4())
        await session.execute(rows.insert().values(
            id=row_id, summary=body.summary, created_at=datetime.now(UTC),
            details={"respondent_states": body.respondent_states, "rights_invoked": body.rights_invoked}))
        return {"id": row_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
