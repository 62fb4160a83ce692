"""The authorization server's use cases: load what a request needs, run Authlib over it (server.py),
write what it decided, and stage ``token_revoked`` events in the outbox of the same transaction."""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidGrantError, OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.events.catalogue import TOKEN_REVOKED, TokenRevoked
from comitas_shared.events.outbox import add_event
from comitas_shared.platform_tables import PlatformTables

from ..institutions import repository as institutions
from ..keys.service import KeyRing
from ..models import AuthorizationCode as CodeRow
from ..models import OAuthClient, UserAccount, utc
from ..settings import IdentitySettings
from ..users import repository as users
from ..users.service import authenticate
from . import domain, repository
from .domain import hash_code
from .server import (
    Client,
    Code,
    ComitasAuthorizationServer,
    Effects,
    FormRequest,
    OAuthResponse,
    Officer,
    ServerConfig,
    Snapshot,
)

log = logging.getLogger(__name__)
SOURCE = "/comitas/identity"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def server_config(settings: IdentitySettings) -> ServerConfig:
    issuer = settings.issuer.rstrip("/")
    audiences = {settings.issuer, issuer, f"{issuer}/oauth/token", settings.token_endpoint,
                 settings.endpoint("/oauth/introspect"), settings.endpoint("/oauth/revoke")}
    return ServerConfig(issuer=settings.issuer, audience=settings.audience,
                        token_lifetime=settings.token_lifetime_seconds,
                        code_lifetime=settings.authorization_code_lifetime_seconds,
                        assertion_max_lifetime=settings.client_assertion_max_lifetime_seconds,
                        assertion_audiences=tuple(sorted(audiences)))


@dataclass(frozen=True)
class Context:
    """What every use case here needs besides the session."""

    settings: IdentitySettings
    keyring: KeyRing
    tables: PlatformTables

    @property
    def config(self) -> ServerConfig:
        return server_config(self.settings)


# --- use cases -----------------------------------------------------------------------------------


async def token(session: AsyncSession, context: Context, request: FormRequest) -> OAuthResponse:
    """``POST /oauth/token``."""
    try:
        snapshot = await _snapshot_for_client_auth(session, request)
    except OAuth2Error as error:
        return error()
    if request.payload.grant_type == "authorization_code" and request.form.get("code"):
        await _load_code(session, snapshot, request.form["code"])
    snapshot.signing_key = await context.keyring.signing_key(session)
    server = ComitasAuthorizationServer(context.config, snapshot)
    response = server.create_token_response(request)
    error = await _write(session, context, server.effects, snapshot)
    return server.error_response(error) if error else response


async def introspect(session: AsyncSession, context: Context, request: FormRequest) -> OAuthResponse:
    """``POST /oauth/introspect``."""
    return await _token_endpoint(session, context, request, "introspection")


async def revoke(session: AsyncSession, context: Context, request: FormRequest) -> OAuthResponse:
    """``POST /oauth/revoke``."""
    return await _token_endpoint(session, context, request, "revocation")


@dataclass(frozen=True)
class SignInPrompt:
    """The sign-in page to show: for which client, which scopes, and the request to carry on."""

    client_name: str
    scopes: list[str]
    parameters: dict[str, str]
    error: str | None = None


AUTHORIZE_PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                        "code_challenge_method")


@dataclass(frozen=True)
class _Consent:
    snapshot: Any
    server: Any
    grant: Any


async def _consent_grant(session: AsyncSession, context: Context,
                         request: FormRequest) -> _Consent | OAuthResponse | OAuth2Error:
    """The client's authorization request checked by Authlib, or the error to answer with (redirected
    to the client only when its redirect URI can be trusted)."""
    snapshot = await _snapshot_for_authorization(session, request)
    server = ComitasAuthorizationServer(context.config, snapshot)
    try:
        return _Consent(snapshot, server, server.get_consent_grant(request))
    except OAuth2Error as error:
        return server.error_response(error) if error.redirect_uri else error


async def authorization_prompt(session: AsyncSession, context: Context,
                               request: FormRequest) -> SignInPrompt | OAuthResponse | OAuth2Error:
    """``GET /oauth/authorize``: the sign-in page, an error redirect to the client, or an error to show
    here (when the client or its redirect URI cannot be trusted, nothing is redirected)."""
    consent = await _consent_grant(session, context, request)
    if not isinstance(consent, _Consent):
        return consent
    return _prompt(consent.grant.client, request)


async def authorize(session: AsyncSession, context: Context, request: FormRequest, *, email: str,
                    password: str) -> SignInPrompt | OAuthResponse | OAuth2Error:
    """``POST /oauth/authorize``: check the officer's credentials, then redirect with a code."""
    consent = await _consent_grant(session, context, request)
    if not isinstance(consent, _Consent):
        return consent
    snapshot, server, grant = consent.snapshot, consent.server, consent.grant
    user = await authenticate(session, email=email, password=password)
    if user is None:
        return _prompt(grant.client, request, error="The e-mail address or the password is wrong.")
    response = server.create_authorization_response(request, grant_user=_officer(user), grant=grant)
    await _write(session, context, server.effects, snapshot)
    return response


async def register_client(session: AsyncSession, *, institution_id: str, name: str, scopes: list[str],
                          auth_method: str, jwks: dict[str, Any] | None, client_id: str | None,
                          client_secret: str | None, redirect_uris: list[str],
                          now: datetime) -> tuple[str, str | None, list[str]]:
    """Registers a client; returns its id, its secret in clear (the only time it is seen) and its scopes."""
    domain.check_client_registration(auth_method=auth_method, scopes=scopes, jwks=jwks, client_id=client_id,
                                     client_secret=client_secret, redirect_uris=redirect_uris)
    if not name.strip():
        raise ValueError("name: required")
    if await institutions.get(session, institution_id) is None:
        raise ValueError(f"no institution {institution_id}")
    client_id = client_id or domain.new_client_id()
    if await repository.client_exists(session, client_id):
        raise ValueError(f"client {client_id} already exists")
    if auth_method in domain.SECRET_METHODS:
        client_secret = client_secret or domain.new_client_secret()
    granted = domain.check_scopes(scopes)
    await repository.add_client(session, OAuthClient(
        client_id=client_id, institution_id=institution_id, name=name.strip(), auth_method=auth_method,
        secret_hash=domain.hash_secret(client_secret) if client_secret else None,
        jwks=domain.check_client_jwks(jwks) if jwks is not None else None, scopes=granted,
        redirect_uris=list(redirect_uris), grant_types=domain.grant_types_for(auth_method, redirect_uris),
        active=True, created_at=now))
    return client_id, client_secret, granted


async def purge_expired(session: AsyncSession, *, now: datetime) -> None:
    # Kept past expiry by a margin: resource servers allow clock skew, and a replayed code must still
    # find the token it bought while that token lives (tokens live at most an hour).
    await repository.purge_expired(session, now=now - timedelta(minutes=2),
                                   codes_before=now - timedelta(hours=1))


# --- loading ------------------------------------------------------------------------------------


async def _token_endpoint(session: AsyncSession, context: Context, request: FormRequest,
                          name: str) -> OAuthResponse:
    try:
        snapshot = await _snapshot_for_client_auth(session, request)
    except OAuth2Error as error:
        return error()
    snapshot.verification_keys = await context.keyring.verification_keys(session)
    jti = _unverified_claims(request.form.get("token", "")).get("jti")
    if isinstance(jti, str) and await repository.revoked(session, jti):
        snapshot.revoked_jtis.add(jti)
    server = ComitasAuthorizationServer(context.config, snapshot)
    response = server.create_endpoint_response(name, request)
    error = await _write(session, context, server.effects, snapshot)
    return server.error_response(error) if error else response


async def _snapshot_for_client_auth(session: AsyncSession, request: FormRequest) -> Snapshot:
    """The clients the request may authenticate as: by Basic header, form client_id, or assertion."""
    snapshot = Snapshot(now=int(time.time()))
    candidates: set[str] = set()
    try:
        basic_id, _ = extract_basic_authorization(request.headers)
    except UnicodeDecodeError:
        # Authlib would fail on these too, with a 500; they are the client's error.
        raise InvalidClientError(status_code=401, description="The Basic credentials are not UTF-8.") from None
    if basic_id:
        candidates.add(basic_id)
    if request.form.get("client_id"):
        candidates.add(request.form["client_id"])
    assertion = request.form.get("client_assertion")
    if assertion and request.form.get("client_assertion_type") == ASSERTION_TYPE:
        claims = _unverified_claims(assertion)
        subject, jti = claims.get("sub"), claims.get("jti")
        if isinstance(subject, str):
            candidates.add(subject)
            if jti is not None and await repository.assertion_used(session, subject, str(jti)):
                snapshot.used_assertions.add((subject, str(jti)))
    await _load_clients(session, snapshot, candidates)
    return snapshot


async def _snapshot_for_authorization(session: AsyncSession, request: FormRequest) -> Snapshot:
    snapshot = Snapshot(now=int(time.time()))
    if client_id := request.payload.client_id:
        await _load_clients(session, snapshot, {client_id})
    return snapshot


async def _load_clients(session: AsyncSession, snapshot: Snapshot, client_ids: set[str]) -> None:
    # Ids longer than any we issue are not looked up.
    wanted = {c for c in client_ids if len(c) <= 64}
    for row, institution_active in await repository.clients_with_institution_state(session, wanted):
        if row.active and institution_active:
            snapshot.clients[row.client_id] = Client(
                client_id=row.client_id, institution_id=row.institution_id, name=row.name,
                auth_method=row.auth_method, secret_hash=row.secret_hash, jwks=row.jwks,
                scopes=tuple(row.scopes), redirect_uris=tuple(row.redirect_uris),
                grant_types=tuple(row.grant_types))


async def _load_code(session: AsyncSession, snapshot: Snapshot, code: str) -> None:
    found = await repository.code_with_officer(session, hash_code(code))
    if found is None:
        return
    row, user = found
    snapshot.code = Code(
        code_hash=row.code_hash, client_id=row.client_id, user_id=row.user_id, redirect_uri=row.redirect_uri,
        scope=row.scope, code_challenge=row.code_challenge, code_challenge_method=row.code_challenge_method,
        expires_at=int(utc(row.expires_at).timestamp()), consumed=row.consumed_at is not None,
        token_jti=row.token_jti,
        token_expires_at=int(utc(row.token_expires_at).timestamp()) if row.token_expires_at else None)
    # An officer deactivated since signing in gets no token for the code.
    if await users.can_sign_in(session, user):
        snapshot.officer = _officer(user)


def _officer(user: UserAccount) -> Officer:
    return Officer(id=user.id, institution_id=user.institution_id, scopes=tuple(user.scopes))


def _prompt(client: Client, request: FormRequest, *, error: str | None = None) -> SignInPrompt:
    scopes = sorted(set(scope_to_list(request.scope) or []))
    data = request.payload.data
    parameters = {name: data[name] for name in AUTHORIZE_PARAMETERS if data.get(name)}
    return SignInPrompt(client_name=client.name, scopes=scopes, parameters=parameters, error=error)


def _unverified_claims(token: str) -> dict[str, Any]:
    """A JWT's claims before any check: only to know which rows to load. Nothing read here is trusted;
    Authlib verifies the token afterwards."""
    try:
        payload = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


# --- writing ------------------------------------------------------------------------------------


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


async def _write(session: AsyncSession, context: Context, effects: Effects,
                 snapshot: Snapshot) -> OAuth2Error | None:
    """Writes what Authlib decided. Returns the error to answer instead when the database says a
    single-use thing was used meanwhile by a concurrent request."""
    now = _at(snapshot.now)
    for client_id, jti, exp in effects.assertions:
        if not await repository.remember_assertion(session, client_id=client_id, jti=jti,
                                                   expires_at=_at(exp)):
            return InvalidClientError(description="The client assertion has been used before.")
    for code in effects.issued_codes:
        await repository.add_code(session, CodeRow(
            code_hash=code.code_hash, client_id=code.client_id, user_id=code.user_id,
            redirect_uri=code.redirect_uri, scope=code.scope, code_challenge=code.code_challenge,
            code_challenge_method=code.code_challenge_method, created_at=now,
            expires_at=_at(code.expires_at)))
    if (replayed := effects.replayed_code) is not None and replayed.token_jti and replayed.token_expires_at:
        # RFC 6749 §4.1.2: a code used twice revokes the token it bought.
        log.warning("identity: authorization code replayed for client %s; revoking its token",
                    replayed.client_id)
        institution = snapshot.officer.institution_id if snapshot.officer else None
        await _revoke(session, context, jti=replayed.token_jti, client_id=replayed.client_id,
                      institution_id=institution, expires_at=_at(replayed.token_expires_at), now=now)
    if effects.redeemed_code is not None:
        code_hash, claims = effects.redeemed_code
        if not await repository.redeem_code(session, code_hash, token_jti=claims["jti"],
                                            token_expires_at=_at(claims["exp"]), at=now):
            return InvalidGrantError("The authorization code has been used.")
    for claims in effects.revocations:
        await _revoke(session, context, jti=claims["jti"], client_id=claims["client_id"],
                      institution_id=claims.get("institution_id"), expires_at=_at(claims["exp"]), now=now)
    return None


async def _revoke(session: AsyncSession, context: Context, *, jti: str, client_id: str,
                  institution_id: str | None, expires_at: datetime, now: datetime) -> None:
    """The deny-list row and its event, in one transaction; revoking twice emits one event."""
    if not await repository.revoke(session, jti=jti, client_id=client_id, institution_id=institution_id,
                                   expires_at=expires_at, at=now):
        return
    event = TOKEN_REVOKED.build(source=SOURCE, subject=jti, institution_id=institution_id, time=now,
                                data=TokenRevoked(jti=jti, expires_at=expires_at, client_id=client_id))
    await add_event(session, context.tables, event)
