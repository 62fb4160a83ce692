"""Every query of the authorization server: clients, codes, used assertions, revoked tokens.

Writes that must happen once (a code redeemed, an assertion accepted, a token revoked) are decided by
the database, with a conditional UPDATE or an INSERT that ignores duplicates, so two concurrent requests
or replicas cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    AuthorizationCode,
    Institution,
    OAuthClient,
    RevokedToken,
    UsedClientAssertion,
    UserAccount,
)


async def _insert_once(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the primary key exists; True when this call inserted the row."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


async def clients_with_institution_state(session: AsyncSession,
                                         client_ids: set[str]) -> list[tuple[OAuthClient, bool]]:
    """The clients with these ids, each with whether its institution is active."""
    if not client_ids:
        return []
    rows = await session.execute(
        select(OAuthClient, Institution.active)
        .join(Institution, Institution.id == OAuthClient.institution_id)
        .where(OAuthClient.client_id.in_(client_ids))
    )
    return [(client, institution_active) for client, institution_active in rows.all()]


async def client_exists(session: AsyncSession, client_id: str) -> bool:
    return await session.get(OAuthClient, client_id) is not None


async def add_client(session: AsyncSession, client: OAuthClient) -> None:
    session.add(client)
    await session.flush()


async def assertion_used(session: AsyncSession, client_id: str, jti: str) -> bool:
    return await session.get(UsedClientAssertion, (client_id, jti)) is not None


async def remember_assertion(session: AsyncSession, *, client_id: str, jti: str,
                             expires_at: datetime) -> bool:
    return await _insert_once(session, UsedClientAssertion.__table__,  # type: ignore[arg-type]
                              {"client_id": client_id, "jti": jti, "expires_at": expires_at})


async def code_with_officer(session: AsyncSession,
                            code_hash: str) -> tuple[AuthorizationCode, UserAccount] | None:
    row = (await session.execute(
        select(AuthorizationCode, UserAccount)
        .join(UserAccount, UserAccount.id == AuthorizationCode.user_id)
        .where(AuthorizationCode.code_hash == code_hash)
    )).first()
    return (row[0], row[1]) if row else None


async def add_code(session: AsyncSession, code: AuthorizationCode) -> None:
    session.add(code)
    await session.flush()


async def redeem_code(session: AsyncSession, code_hash: str, *, token_jti: str, token_expires_at: datetime,
                      at: datetime) -> bool:
    """Marks the code used, with the token it bought; False when another request redeemed it first."""
    result = await session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == code_hash, AuthorizationCode.consumed_at.is_(None))
        .values(consumed_at=at, token_jti=token_jti, token_expires_at=token_expires_at)
    )
    return result.rowcount == 1


async def revoked(session: AsyncSession, jti: str) -> bool:
    return await session.get(RevokedToken, jti) is not None


async def revoke(session: AsyncSession, *, jti: str, client_id: str, institution_id: str | None,
                 expires_at: datetime, at: datetime) -> bool:
    """Adds the jti to the deny-list; False when it was there already."""
    return await _insert_once(session, RevokedToken.__table__,  # type: ignore[arg-type]
                              {"jti": jti, "client_id": client_id, "institution_id": institution_id,
                               "expires_at": expires_at, "revoked_at": at})


async def purge_expired(session: AsyncSession, *, now: datetime, codes_before: datetime) -> None:
    await session.execute(delete(UsedClientAssertion).where(UsedClientAssertion.expires_at < now))
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    await session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < codes_before))
