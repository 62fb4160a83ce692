"""Administration, for the CLI (``comitas-admin``), seeding and tests. Each function is one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from comitas_shared.clock import real_now
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
                               institution_id: str | None = None, profile: Mapping[str, Any] | None = None) -> str:
    """Adds an institution to the directory; returns its id. ``profile`` holds the other fields of its
    entry, as in ``PATCH /v1/institutions/{id}`` (subdivision, time_zone, languages, mandate,
    accepts_referrals, referral_kinds, referral_purposes, acknowledgement_period, response_period,
    closures, contact, state_institution). Emits ``institution.registered``. ValueError on invalid or
    duplicate input."""
    async with database.transaction() as session:
        return await institutions.register(session, name=name, kind=kind, country=country,
                                           institution_id=institution_id, now=real_now(), profile=profile)


async def update_institution(database: Database, institution_id: str, changes: Mapping[str, Any]) -> list[str]:
    """Changes any field of an entry, as the platform's administrators may; emits ``institution.updated``
    when something changed. Returns the names of the changed fields. ValueError on invalid input."""
    async with database.transaction() as session:
        if not await institutions.exists(session, institution_id):
            raise ValueError(f"no institution {institution_id}")
        return await institutions.apply_update(session, institution_id, changes, now=real_now())


async def show_institution(database: Database, institution_id: str) -> dict[str, Any]:
    """The entry as the platform's administrators see it (contact included)."""
    async with database.transaction() as session:
        if not await institutions.exists(session, institution_id):
            raise ValueError(f"no institution {institution_id}")
        return (await institutions.get(session, institution_id)).model_dump(mode="json")


async def register_client(database: Database, *, institution_id: str, name: str, scopes: list[str],
                          auth_method: str = "client_secret_basic", jwks: dict | None = None,
                          client_id: str | None = None, client_secret: str | None = None,
                          redirect_uris: list[str] | None = None,
                          post_logout_redirect_uris: list[str] | None = None,
                          service_resource: str | None = None, exchange_resources: list[str] | None = None,
                          exchange_scopes: list[str] | None = None,
                          refresh_tokens: bool = True) -> ClientCredentials:
    """Registers an OAuth client of an institution. With redirect URIs it is a web client (authorization
    code with PKCE); without, an institution's system (client credentials). The secret is stored hashed
    and generated unless given (then at least 32 characters). A web client may also register where
    RP-initiated sign-out may return to. With ``service_resource`` (the service it is),
    ``exchange_resources`` and ``exchange_scopes`` it is a platform service's client that may also
    exchange tokens (RFC 8693). A confidential web client may refresh its officers' tokens (rotated refresh
    tokens, ADR 0071) unless ``refresh_tokens`` is False. ValueError on unknown scopes or bad input."""
    async with database.transaction() as session:
        found_id, secret, granted = await oauth.register_client(
            session, institution_id=institution_id, name=name, scopes=scopes, auth_method=auth_method,
            jwks=jwks, client_id=client_id, client_secret=client_secret, redirect_uris=redirect_uris or [],
            post_logout_redirect_uris=post_logout_redirect_uris or [], now=real_now(),
            service_resource=service_resource, exchange_resources=exchange_resources,
            exchange_scopes=exchange_scopes, refresh_tokens=refresh_tokens)
    return ClientCredentials(client_id=found_id, client_secret=secret, scopes=granted)


@dataclass(frozen=True)
class ServiceCredentials:
    institution_id: str
    client_id: str
    client_secret: str | None
    scopes: list[str]
    # None when the client may not exchange tokens.
    token_exchange: dict[str, Any] | None


async def register_service(database: Database, *, service: str, country: str, scopes: list[str] | None = None,
                           exchange_resources: list[str] | None = None, exchange_scopes: list[str] | None = None,
                           client_id: str | None = None, service_resource: str | None = None,
                           auth_method: str = "client_secret_basic", jwks: dict | None = None) -> ServiceCredentials:
    """A platform service's own client (``client_id`` defaults to the service's name), in a directory entry
    ``svc_<service>`` of its own (kind ``platform_service``, created when missing), so its own tokens reach
    no institution's records. They carry ``scopes`` (default ``directory:read``); with
    ``exchange_resources`` and ``exchange_scopes`` it may also exchange the tokens it is called with
    (RFC 8693) for those services and at most those scopes."""
    async with database.transaction() as session:
        created = await oauth.register_service(
            session, service=service, country=country,
            scopes=scopes if scopes is not None else ["directory:read"], exchange_resources=exchange_resources,
            exchange_scopes=exchange_scopes, client_id=client_id, service_resource=service_resource,
            auth_method=auth_method, jwks=jwks, now=real_now())
    return ServiceCredentials(institution_id=created.institution_id, client_id=created.client_id,
                              client_secret=created.client_secret, scopes=created.scopes,
                              token_exchange=exchange_json(created.policy))


def exchange_json(policy: Any) -> dict[str, Any] | None:
    """A client's token-exchange policy as shown by the CLI and the demo credentials."""
    if policy is None:
        return None
    return {"service_resource": policy.service_resource, "resources": list(policy.resources),
            "scopes": list(policy.scopes)}


async def register_user(database: Database, *, institution_id: str, email: str, name: str, password: str,
                        scopes: list[str]) -> str:
    """Adds a liaison officer; returns the user id. The password is stored as an scrypt hash."""
    async with database.transaction() as session:
        return await users.register(session, institution_id=institution_id, email=email, name=name,
                                    password=password, scopes=scopes, now=real_now())


async def rotate_signing_key(database: Database, *, master_key: str) -> str:
    """Makes a new signing key active; the previous one still verifies until retired. Returns its kid."""
    async with database.transaction() as session:
        return await keys.rotate(session, master_key=master_key, now=real_now())


async def retire_signing_key(database: Database, kid: str) -> None:
    """Removes a previous key from the JWKS: tokens it signed stop verifying. Retire a key only once the
    tokens it signed have expired (the token lifetime after the rotation that replaced it)."""
    async with database.transaction() as session:
        await keys.retire(session, kid, now=real_now())
