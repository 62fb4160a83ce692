"""The authorization server's use cases: load what a request needs, run Authlib over it (server.py),
write what it decided, and stage ``token_revoked`` events in the outbox of the same transaction."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidGrantError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import Principal, service_audience
from comitas_shared.clock import real_timestamp
from comitas_shared.errors import InsufficientScope, Unauthorized
from comitas_shared.events.catalogue import TOKEN_REVOKED, TokenRevoked
from comitas_shared.events.outbox import add_event
from comitas_shared.platform_tables import PlatformTables

from ..institutions import service as institutions
from ..keys.service import KeyRing
from ..settings import IdentitySettings
from ..users import service as users
from ..users.schemas import OfficerAccount
from . import csrf, domain, repository
from .domain import hash_code
from .models import AuthorizationCode as CodeRow
from .models import OAuthClient
from .models import RefreshToken as RefreshTokenRow
from .server import (
    Client,
    Code,
    ComitasAuthorizationServer,
    Effects,
    FormRequest,
    OAuthResponse,
    Officer,
    RefreshTokenRecord,
    ServerConfig,
    Snapshot,
    error_description,
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
                        refresh_token_lifetime=settings.refresh_token_lifetime_seconds,
                        refresh_token_family_max=settings.refresh_token_family_max_seconds,
                        assertion_max_lifetime=settings.client_assertion_max_lifetime_seconds,
                        assertion_audiences=tuple(sorted(audiences)),
                        resources=frozenset(settings.resources),
                        legacy_audience=settings.legacy_audience if settings.legacy_audience_issued else None,
                        legacy_subject_audience=settings.legacy_audience if settings.legacy_audience_accepted
                        else None)


@dataclass(frozen=True)
class Context:
    """What every use case here needs besides the session."""

    settings: IdentitySettings
    keyring: KeyRing
    tables: PlatformTables

    @property
    def config(self) -> ServerConfig:
        return server_config(self.settings)

    @cached_property
    def form_key(self) -> bytes:
        return csrf.form_key(self.settings.master_key.get_secret_value())


# --- use cases -----------------------------------------------------------------------------------


async def token(session: AsyncSession, context: Context, request: FormRequest) -> OAuthResponse:
    """``POST /oauth/token``."""
    try:
        snapshot = await _snapshot_for_client_auth(session, request)
    except OAuth2Error as error:
        return error()
    if request.payload.grant_type == "authorization_code" and request.form.get("code"):
        await _load_code(session, snapshot, request.form["code"])
    if request.payload.grant_type == domain.REFRESH_TOKEN and request.form.get("refresh_token"):
        await _load_refresh_token(session, snapshot, request.form["refresh_token"], with_officer=True)
    if request.payload.grant_type == domain.TOKEN_EXCHANGE and request.form.get("subject_token"):
        await _load_subject(session, context, snapshot, request.form["subject_token"])
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
    # The authorization request, carried through the form as hidden fields (``resource`` may repeat).
    parameters: list[tuple[str, str]]
    error: str | None = None


AUTHORIZE_PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                        "code_challenge_method", "nonce", "prompt", "resource")


@dataclass(frozen=True)
class _Consent:
    snapshot: Any
    server: Any
    grant: Any


async def _consent_grant(session: AsyncSession, context: Context,
                         request: FormRequest) -> _Consent | OAuthResponse | OAuth2Error:
    """The client's authorization request checked by Authlib, or the error to answer with (redirected
    to the client only when its redirect URI can be trusted)."""
    if any(error_description(value) != value for name, value in carried_parameters(request)
           if name in ("response_type", "redirect_uri")):
        # Neither can hold such a character (RFC 6749 Appendix A, RFC 3986); Authlib quotes both in its
        # errors, and then refuses to build an error that holds one.
        return InvalidRequestError("The response_type or redirect_uri has characters OAuth does not allow.")
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
    user = await users.authenticate(session, email=email, password=password)
    if user is None:
        return _prompt(grant.client, request, error="The e-mail address or the password is wrong.")
    response = server.create_authorization_response(request, grant_user=_officer(user), grant=grant)
    await _write(session, context, server.effects, snapshot)
    return response


@dataclass(frozen=True)
class SignedOut:
    """RP-initiated sign-out without a redirect: the page to show."""

    client_name: str | None


async def end_session(session: AsyncSession, context: Context,
                      request: FormRequest) -> SignedOut | OAuthResponse | OAuth2Error:
    """``GET, POST /oauth/logout`` (OIDC RP-Initiated Logout): back to a registered
    ``post_logout_redirect_uri`` when an ID token of ours names the client, else a signed-out page; an
    invalid hint is an error page, never a redirect."""
    snapshot = Snapshot(now=int(real_timestamp()))
    snapshot.verification_keys = await context.keyring.verification_keys(session)
    hint = unverified_claims(request.payload.data.get("id_token_hint", ""))
    audience = hint.get("aud")
    wanted = {request.payload.client_id or "", audience if isinstance(audience, str) else ""}
    await _load_clients(session, snapshot, {c for c in wanted if c})
    server = ComitasAuthorizationServer(context.config, snapshot)
    try:
        validated = server.validate_endpoint_request("end_session", request)
    except OAuth2Error as error:
        return error
    response = server.create_endpoint_response("end_session", validated)
    if response is not None:
        return response
    client = validated.client
    return SignedOut(client_name=client.name if client is not None else None)


async def userinfo(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    """OpenID Connect userinfo: the claims about the signed-in officer that the token's scopes allow."""
    if "openid" not in principal.scopes:
        raise InsufficientScope("userinfo needs a token with the openid scope", error="insufficient_scope",
                                headers={"WWW-Authenticate": 'Bearer realm="comitas", '
                                                             'error="insufficient_scope", scope="openid"'})
    user = await users.get(session, principal.subject)
    signed_in = user is not None and user.institution_id == principal.institution_id
    if user is None or not signed_in or not await users.can_sign_in(session, user):
        raise Unauthorized("the token does not stand for an officer who may sign in",
                           headers={"WWW-Authenticate": 'Bearer realm="comitas", error="invalid_token"'})
    return dict(_officer(user).user_info(" ".join(sorted(principal.scopes))))


async def client_scopes(session: AsyncSession, client_id: str) -> list[str] | None:
    """The scopes granted to a client, or None when there is no such client."""
    row = await repository.get_client(session, client_id)
    return list(row.scopes) if row is not None else None


async def client_exchange_policy(session: AsyncSession, client_id: str) -> domain.ExchangePolicy | None:
    """What a client may do with token exchange (None: nothing, or no such client)."""
    row = await repository.get_client(session, client_id)
    return _policy(row) if row is not None else None


async def register_client(session: AsyncSession, *, institution_id: str, name: str, scopes: list[str],
                          auth_method: str, jwks: dict[str, Any] | None, client_id: str | None,
                          client_secret: str | None, redirect_uris: list[str], now: datetime,
                          post_logout_redirect_uris: list[str] | None = None,
                          service_resource: str | None = None, exchange_resources: list[str] | None = None,
                          exchange_scopes: list[str] | None = None,
                          refresh_tokens: bool = True) -> tuple[str, str | None, list[str]]:
    """Registers a client; returns its id, its secret in clear (the only time it is seen) and its scopes.
    With ``service_resource``, ``exchange_resources`` and ``exchange_scopes`` it is a platform service's
    client that may also exchange the tokens it is called with (RFC 8693), for those resources and at
    most those scopes; such a client is confidential and has no redirect URIs. A confidential web client
    is allowed refresh tokens unless ``refresh_tokens`` is off (ADR 0071)."""
    post_logout_redirect_uris = post_logout_redirect_uris or []
    domain.check_client_registration(auth_method=auth_method, scopes=scopes, jwks=jwks, client_id=client_id,
                                     client_secret=client_secret, redirect_uris=redirect_uris,
                                     post_logout_redirect_uris=post_logout_redirect_uris)
    policy = domain.check_exchange_policy(service_resource=service_resource, resources=exchange_resources,
                                          scopes=exchange_scopes)
    if policy is not None and (redirect_uris or auth_method == "none"):
        raise ValueError("token exchange is for a platform service's confidential client, not a web or public client")
    if not name.strip():
        raise ValueError("name: required")
    if not await institutions.exists(session, institution_id):
        raise ValueError(f"no institution {institution_id}")
    client_id = client_id or domain.new_client_id()
    if await repository.get_client(session, client_id) is not None:
        raise ValueError(f"client {client_id} already exists")
    if auth_method in domain.SECRET_METHODS:
        client_secret = client_secret or domain.new_client_secret()
    granted = domain.check_scopes(scopes)
    await repository.add_client(session, OAuthClient(
        client_id=client_id, institution_id=institution_id, name=name.strip(), auth_method=auth_method,
        secret_hash=domain.hash_secret(client_secret) if client_secret else None,
        jwks=domain.check_client_jwks(jwks) if jwks is not None else None, scopes=granted,
        redirect_uris=list(redirect_uris), post_logout_redirect_uris=list(post_logout_redirect_uris),
        grant_types=domain.grant_types_for(auth_method, redirect_uris, token_exchange=policy is not None,
                                           refresh_tokens=refresh_tokens),
        service_resource=policy.service_resource if policy else None,
        exchange_resources=list(policy.resources) if policy else None,
        exchange_scopes=list(policy.scopes) if policy else None, active=True, created_at=now))
    return client_id, client_secret, granted


async def set_redirect_uris(session: AsyncSession, client_id: str, redirect_uris: list[str]) -> None:
    """A web client's redirect URIs, replaced (the development web client moved to another port)."""
    row = await repository.get_client(session, client_id)
    if row is None or not row.redirect_uris or list(row.redirect_uris) == list(redirect_uris):
        return
    domain.check_client_registration(auth_method=row.auth_method, scopes=list(row.scopes), jwks=row.jwks,
                                     client_id=client_id, client_secret=None, redirect_uris=redirect_uris,
                                     post_logout_redirect_uris=list(row.post_logout_redirect_uris or []))
    row.redirect_uris = list(redirect_uris)
    await session.flush()


def service_institution_id(service: str) -> str:
    """The directory entry a platform service's client belongs to: one per service, owning nothing, so
    that a token the service gets for itself (client credentials) reaches no institution's records."""
    return f"svc_{service}"


@dataclass(frozen=True)
class ServiceClient:
    institution_id: str
    client_id: str
    client_secret: str | None
    scopes: list[str]
    policy: domain.ExchangePolicy | None


async def register_service(session: AsyncSession, *, service: str, country: str, scopes: list[str],
                           exchange_resources: list[str] | None, exchange_scopes: list[str] | None, now: datetime,
                           client_id: str | None = None, service_resource: str | None = None,
                           auth_method: str = "client_secret_basic",
                           jwks: dict[str, Any] | None = None) -> ServiceClient:
    """A platform service's own client (id: the service's name unless given) in the entry
    ``svc_<service>`` (kind platform_service, created when missing); with ``exchange_resources`` and
    ``exchange_scopes`` it may exchange tokens, as the service ``service_resource`` (default
    ``urn:comitas:<service>``)."""
    if not domain.CLIENT_ID_PATTERN.match(service):
        raise ValueError("service: 3 to 64 letters, digits or . _ ~ -")
    institution_id = service_institution_id(service)
    if not await institutions.exists(session, institution_id):
        await institutions.register(session, name=f"Comitas {service} service", kind="platform_service",
                                    country=country, institution_id=institution_id, now=now)
    exchanging = bool(exchange_resources or exchange_scopes)
    found_id, secret, granted = await register_client(
        session, institution_id=institution_id, name=f"Comitas {service} service", scopes=scopes,
        auth_method=auth_method, jwks=jwks, client_id=client_id or service, client_secret=None, redirect_uris=[],
        now=now, service_resource=(service_resource or service_audience(service)) if exchanging else None,
        exchange_resources=exchange_resources, exchange_scopes=exchange_scopes)
    return ServiceClient(institution_id=institution_id, client_id=found_id, client_secret=secret, scopes=granted,
                         policy=await client_exchange_policy(session, found_id))


async def purge_expired(session: AsyncSession, *, now: datetime) -> None:
    # Kept past expiry by a margin: resource servers allow clock skew, and a replayed code must still
    # find the token it bought while that token lives (tokens live at most an hour). Refresh tokens go
    # with their family's absolute end.
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
    jti = unverified_claims(request.form.get("token", "")).get("jti")
    if isinstance(jti, str) and await repository.revoked(session, jti):
        snapshot.revoked_jtis.add(jti)
    if (token := request.form.get("token")) and len(token) <= 256:
        # Not a JWT of ours, perhaps a refresh token: looked up by its hash.
        await _load_refresh_token(session, snapshot, token, with_officer=False)
    server = ComitasAuthorizationServer(context.config, snapshot)
    response = server.create_endpoint_response(name, request)
    error = await _write(session, context, server.effects, snapshot)
    return server.error_response(error) if error else response


async def _snapshot_for_client_auth(session: AsyncSession, request: FormRequest) -> Snapshot:
    """The clients the request may authenticate as: by Basic header, form client_id, or assertion."""
    snapshot = Snapshot(now=int(real_timestamp()))
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
        claims = unverified_claims(assertion)
        subject, jti = claims.get("sub"), claims.get("jti")
        if isinstance(subject, str):
            candidates.add(subject)
            if jti is not None and await repository.assertion_used(session, subject, str(jti)):
                snapshot.used_assertions.add((subject, str(jti)))
    await _load_clients(session, snapshot, candidates)
    return snapshot


async def _snapshot_for_authorization(session: AsyncSession, request: FormRequest) -> Snapshot:
    snapshot = Snapshot(now=int(real_timestamp()))
    if client_id := request.payload.client_id:
        await _load_clients(session, snapshot, {client_id})
        nonce = request.payload.data.get("nonce")
        if nonce and client_id in snapshot.clients:
            snapshot.nonce_used = await repository.nonce_used(session, client_id, nonce)
    return snapshot


async def _load_clients(session: AsyncSession, snapshot: Snapshot, client_ids: set[str]) -> None:
    # Ids longer than any we issue are not looked up, nor ids with NUL (no client has one, and PostgreSQL
    # refuses it in a text parameter: a 500 where the answer is "no such client").
    wanted = {c for c in client_ids if len(c) <= 64 and "\x00" not in c}
    rows = await repository.clients(session, wanted)
    kinds = await institutions.active_kinds(session, {row.institution_id for row in rows})
    snapshot.institution_kinds.update(kinds)
    active_institutions = set(kinds)
    for row in rows:
        if row.active and row.institution_id in active_institutions:
            snapshot.clients[row.client_id] = Client(
                client_id=row.client_id, institution_id=row.institution_id, name=row.name,
                auth_method=row.auth_method, secret_hash=row.secret_hash, jwks=row.jwks,
                scopes=tuple(row.scopes), redirect_uris=tuple(row.redirect_uris),
                grant_types=tuple(row.grant_types),
                post_logout_redirect_uris=tuple(row.post_logout_redirect_uris or ()),
                exchange_policy=_policy(row))


def _policy(row: OAuthClient) -> domain.ExchangePolicy | None:
    if domain.TOKEN_EXCHANGE not in row.grant_types or not row.service_resource:
        return None
    return domain.ExchangePolicy(service_resource=row.service_resource, resources=tuple(row.exchange_resources or ()),
                                 scopes=tuple(row.exchange_scopes or ()))


async def _load_subject(session: AsyncSession, context: Context, snapshot: Snapshot, subject_token: str) -> None:
    """What a token exchange needs to judge its subject token: the keys that verify it, whether its jti
    is revoked, and whether the institution and the client it was issued to may still act. The claims
    read here only choose the rows; the token is verified afterwards (server.read_token)."""
    snapshot.verification_keys = await context.keyring.verification_keys(session)
    claims = unverified_claims(subject_token)
    jti, client_id, institution_id = claims.get("jti"), claims.get("client_id"), claims.get("institution_id")
    if isinstance(jti, str) and await repository.revoked(session, jti):
        snapshot.revoked_jtis.add(jti)
    if not isinstance(client_id, str) or not isinstance(institution_id, str) or len(client_id) > 64:
        return
    client = await repository.get_client(session, client_id)
    if client is not None and client.active:
        # Both institutions (often one) in one query.
        wanted = {client.institution_id, institution_id}
        snapshot.subject_active = await institutions.active_among(session, wanted) == wanted


async def _load_code(session: AsyncSession, snapshot: Snapshot, code: str) -> None:
    row = await repository.code(session, hash_code(code))
    if row is None:
        return
    snapshot.code = Code(
        code_hash=row.code_hash, client_id=row.client_id, user_id=row.user_id, redirect_uri=row.redirect_uri,
        scope=row.scope, code_challenge=row.code_challenge, code_challenge_method=row.code_challenge_method,
        expires_at=int(row.expires_at.timestamp()), consumed=row.consumed_at is not None,
        token_jti=row.token_jti,
        token_expires_at=int(row.token_expires_at.timestamp()) if row.token_expires_at else None,
        nonce=row.nonce, auth_time=int(row.auth_time.timestamp()) if row.auth_time else None,
        resources=tuple(row.resources) if row.resources is not None else None)
    await _load_officer(session, snapshot, row.user_id)


async def _load_refresh_token(session: AsyncSession, snapshot: Snapshot, token: str, *, with_officer: bool) -> None:
    row = await repository.refresh_token(session, domain.hash_refresh_token(token))
    if row is None:
        return
    snapshot.refresh_token = RefreshTokenRecord(
        token_hash=row.token_hash, family_id=row.family_id, client_id=row.client_id, user_id=row.user_id,
        institution_id=row.institution_id, scope=row.scope,
        resources=tuple(row.resources) if row.resources is not None else None,
        issued_at=int(row.issued_at.timestamp()), expires_at=int(row.expires_at.timestamp()),
        family_expires_at=int(row.family_expires_at.timestamp()), used=row.used_at is not None,
        revoked=row.revoked_at is not None, now=snapshot.now)
    if with_officer:
        await _load_officer(session, snapshot, row.user_id)


async def _load_officer(session: AsyncSession, snapshot: Snapshot, user_id: str) -> None:
    """The officer a code or a refresh token was issued to, if they may still sign in: an officer
    deactivated, or whose institution is, since signing in gets no more tokens. The test is
    users.can_sign_in's, with the institution read once for both it and the kind the token carries."""
    user = await users.get(session, user_id)
    if user is None or not user.active:
        return
    kinds = await institutions.active_kinds(session, {user.institution_id})
    if kinds:
        snapshot.officer = _officer(user)
        snapshot.institution_kinds.update(kinds)


def _officer(user: OfficerAccount) -> Officer:
    return Officer(id=user.id, institution_id=user.institution_id, scopes=tuple(user.scopes), name=user.name,
                   email=user.email)


def _prompt(client: Client, request: FormRequest, *, error: str | None = None) -> SignInPrompt:
    scopes = sorted(set(scope_to_list(request.scope) or []) - domain.OIDC_SCOPES)
    return SignInPrompt(client_name=client.name, scopes=scopes, parameters=carried_parameters(request),
                        error=error)


def carried_parameters(request: FormRequest) -> list[tuple[str, str]]:
    """The authorization request's parameters that the sign-in form carries (and its CSRF token binds)."""
    datalist = request.payload.datalist
    return [(name, value) for name in AUTHORIZE_PARAMETERS for value in datalist.get(name, []) if value]


def with_error(prompt: SignInPrompt, error: str) -> SignInPrompt:
    return replace(prompt, error=error)


def unverified_claims(token: str) -> dict[str, Any]:
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
            expires_at=_at(code.expires_at), nonce=code.nonce, auth_time=_at(code.auth_time),
            resources=list(code.resources) if code.resources is not None else None))
    if (replayed := effects.replayed_code) is not None and replayed.token_jti and replayed.token_expires_at:
        # RFC 6749 §4.1.2: a code used twice revokes the token it bought.
        log.warning("identity: authorization code replayed for client %s; revoking its token",
                    replayed.client_id)
        institution = snapshot.officer.institution_id if snapshot.officer else None
        await _revoke(session, context, jti=replayed.token_jti, client_id=replayed.client_id,
                      institution_id=institution, expires_at=_at(replayed.token_expires_at), now=now)
        # ... and the refresh tokens born of it (their family is named by the code).
        await _revoke_family(session, context, replayed.code_hash, now=now)
    if (reused := effects.reused_refresh_token) is not None:
        log.warning("identity: a retired refresh token was presented again (client %s, officer %s); "
                    "revoking its family %s and the access tokens it bought", reused.client_id, reused.user_id,
                    reused.family_id[:12])
        await _revoke_family(session, context, reused.family_id, now=now)
    if effects.redeemed_code is not None:
        code_hash, claims = effects.redeemed_code
        if not await repository.redeem_code(session, code_hash, token_jti=claims["jti"],
                                            token_expires_at=_at(claims["exp"]), at=now):
            return InvalidGrantError("The authorization code has been used.")
    rotated = effects.rotated_refresh_token
    if rotated is not None and not await repository.use_refresh_token(session, rotated.token_hash, at=now):
        # Another request used it first: two uses of one refresh token, one of them not the client's.
        log.warning("identity: a refresh token was used twice at once (client %s, officer %s); "
                    "revoking its family %s and the access tokens it bought", rotated.client_id,
                    rotated.user_id, rotated.family_id[:12])
        await _revoke_family(session, context, rotated.family_id, now=now)
        return InvalidGrantError("The refresh token has been used.")
    for issued in effects.issued_refresh_tokens:
        await repository.add_refresh_token(session, RefreshTokenRow(
            token_hash=issued.token_hash, family_id=issued.family_id, client_id=issued.client_id,
            user_id=issued.user_id, institution_id=issued.institution_id, scope=issued.scope,
            resources=list(issued.resources) if issued.resources is not None else None,
            access_jti=issued.access_jti, access_expires_at=_at(issued.access_expires_at),
            issued_at=_at(issued.issued_at), expires_at=_at(issued.expires_at),
            family_expires_at=_at(issued.family_expires_at)))
    for family_id in effects.revoked_families:
        await _revoke_family(session, context, family_id, now=now)
    for claims in effects.revocations:
        await _revoke(session, context, jti=claims["jti"], client_id=claims["client_id"],
                      institution_id=claims.get("institution_id"), expires_at=_at(claims["exp"]), now=now)
    return None


async def _revoke_family(session: AsyncSession, context: Context, family_id: str, *, now: datetime) -> None:
    """Every refresh token of a family, and every access token they bought that still lives."""
    for jti, client_id, institution_id, expires_at in await repository.revoke_refresh_family(session, family_id,
                                                                                            at=now):
        await _revoke(session, context, jti=jti, client_id=client_id, institution_id=institution_id,
                      expires_at=expires_at, now=now)


async def _revoke(session: AsyncSession, context: Context, *, jti: str, client_id: str,
                  institution_id: str | None, expires_at: datetime, now: datetime) -> None:
    """The deny-list row and its event, in one transaction; revoking twice emits one event."""
    if not await repository.revoke(session, jti=jti, client_id=client_id, institution_id=institution_id,
                                   expires_at=expires_at, at=now):
        return
    event = TOKEN_REVOKED.build(source=SOURCE, subject=jti, institution_id=institution_id, time=now,
                                data=TokenRevoked(jti=jti, expires_at=expires_at, client_id=client_id))
    await add_event(session, context.tables, event)
