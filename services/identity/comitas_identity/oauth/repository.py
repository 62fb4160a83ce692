"""Every query of the authorization server: clients, codes, refresh tokens, used assertions, revoked tokens.

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

from comitas_shared.db import rows_affected

from .models import AuthorizationCode, OAuthClient, RefreshToken, RevokedToken, UsedClientAssertion


async def _insert_once(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the primary key exists; True when this call inserted the row."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


async def clients(session: AsyncSession, client_ids: set[str]) -> list[OAuthClient]:
    if not client_ids:
        return []
    return list((await session.execute(select(OAuthClient).where(OAuthClient.client_id.in_(client_ids))))
                .scalars().all())


async def get_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return await session.get(OAuthClient, client_id)


async def add_client(session: AsyncSession, client: OAuthClient) -> None:
    session.add(client)
    await session.flush()


async def assertion_used(session: AsyncSession, client_id: str, jti: str) -> bool:
    return await session.get(UsedClientAssertion, (client_id, jti)) is not None


async def remember_assertion(session: AsyncSession, *, client_id: str, jti: str,
                             expires_at: datetime) -> bool:
    return await _insert_once(session, UsedClientAssertion.__table__,  # type: ignore[arg-type]
                              {"client_id": client_id, "jti": jti, "expires_at": expires_at})


async def code(session: AsyncSession, code_hash: str) -> AuthorizationCode | None:
    return await session.get(AuthorizationCode, code_hash)


async def nonce_used(session: AsyncSession, client_id: str, nonce: str) -> bool:
    if "\x00" in nonce:
        # Not one a code could be stored with (PostgreSQL refuses NUL in text): refused as if replayed.
        return True
    found = await session.execute(
        select(AuthorizationCode.code_hash)
        .where(AuthorizationCode.client_id == client_id, AuthorizationCode.nonce == nonce).limit(1)
    )
    return found.first() is not None


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


async def refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return await session.get(RefreshToken, token_hash)


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def use_refresh_token(session: AsyncSession, token_hash: str, *, at: datetime) -> bool:
    """Retires a refresh token (rotation); False when it was retired or revoked meanwhile, by a concurrent
    request: then that request's use is a reuse."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None),
               RefreshToken.revoked_at.is_(None))
        .values(used_at=at)
    )
    return rows_affected(result) == 1


async def revoke_refresh_family(session: AsyncSession, family_id: str, *,
                                at: datetime) -> list[tuple[str, str, str, datetime]]:
    """Revokes every refresh token of a family; returns the access tokens they were issued beside
    (jti, client id, institution id, expiry), for the deny-list."""
    await session.execute(
        update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    rows = await session.execute(
        select(RefreshToken.access_jti, RefreshToken.client_id, RefreshToken.institution_id,
               RefreshToken.access_expires_at)
        .where(RefreshToken.family_id == family_id, RefreshToken.access_expires_at > at)
    )
    return [(jti, client_id, institution_id, expires) for jti, client_id, institution_id, expires in rows.all()]


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
    # Retired and revoked ones too: reuse matters only while the family could still be refreshed.
    await session.execute(delete(RefreshToken).where(RefreshToken.family_expires_at < now))
