"""Administration, for the CLI (``comitas-admin``), seeding and tests. Each function is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from comitas_shared.db import Database

from .institutions import service as institutions
from .keys import service as keys
from .oauth import service as oauth
from .users import service as users


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    # The secret in clear, seen only here: None for private_key_jwt and public clients.
    client_secret: str | None
    scopes: list[str]


async def register_institution(database: Database, *, name: str, kind: str, country: str,
                               institution_id: str | None = None) -> str:
    """Adds an institution to the directory; returns its id. ValueError on invalid or duplicate input."""
    async with database.transaction() as session:
        return await institutions.register(session, name=name, kind=kind, country=country,
                                           institution_id=institution_id, now=datetime.now(UTC))


async def register_client(database: Database, *, institution_id: str, name: str, scopes: list[str],
                          auth_method: str = "client_secret_basic", jwks: dict | None = None,
                          client_id: str | None = None, client_secret: str | None = None,
                          redirect_uris: list[str] | None = None) -> ClientCredentials:
    """Registers an OAuth client of an institution. With redirect URIs it is a web client (authorization
    code with PKCE); without, an institution's system (client credentials). The secret is stored hashed
    and generated unless given (then at least 32 characters). ValueError on unknown scopes or bad input."""
    async with database.transaction() as session:
        found_id, secret, granted = await oauth.register_client(
            session, institution_id=institution_id, name=name, scopes=scopes, auth_method=auth_method,
            jwks=jwks, client_id=client_id, client_secret=client_secret, redirect_uris=redirect_uris or [],
            now=datetime.now(UTC))
    return ClientCredentials(client_id=found_id, client_secret=secret, scopes=granted)


async def register_user(database: Database, *, institution_id: str, email: str, name: str, password: str,
                        scopes: list[str]) -> str:
    """Adds a liaison officer; returns the user id. The password is stored as an scrypt hash."""
    async with database.transaction() as session:
        return await users.register(session, institution_id=institution_id, email=email, name=name,
                                    password=password, scopes=scopes, now=datetime.now(UTC))


async def rotate_signing_key(database: Database, *, master_key: str) -> str:
    """Makes a new signing key active; the previous one still verifies until retired. Returns its kid."""
    async with database.transaction() as session:
        return await keys.rotate(session, master_key=master_key, now=datetime.now(UTC))


async def retire_signing_key(database: Database, kid: str) -> None:
    """Removes a previous key from the JWKS: tokens it signed stop verifying. Retire a key only once the
    tokens it signed have expired (the token lifetime after the rotation that replaced it)."""
    async with database.transaction() as session:
        await keys.retire(session, kid, now=datetime.now(UTC))
