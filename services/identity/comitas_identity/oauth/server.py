"""Authlib's authorization server, run over a snapshot of the rows a request needs.

Authlib's server classes are synchronous: while they run they call back for the client, the code, the
signing key. Our storage is asynchronous. So each request first loads everything those callbacks can
ask for — a handful of rows named by the request itself (see ``service.py``) — into a :class:`Snapshot`,
then runs Authlib over it, and Authlib's writes are collected as :class:`Effects`, which the service
writes in the request's transaction. Writes that must happen once (a code redeemed, an assertion jti
accepted) are settled by the database at that point, so a race between two requests has one winner.

Grants: client_credentials, authorization_code with PKCE (S256 only), the latter with OpenID Connect
(ID tokens, nonce) and, for confidential web clients, refresh tokens rotated at each use (RFC 9700
§4.14.2: a retired one presented again revokes its family), and token exchange (RFC 8693) for platform services acting on an institution's
behalf, which Authlib does not implement (:class:`TokenExchange`). Client authentication: client_secret_basic, client_secret_post,
private_key_jwt (RFC 7523) and, for public clients at the token endpoint, none. Introspection (RFC 7662)
and revocation (RFC 7009) of our own RFC 9068 tokens, whose ``aud`` is the services named with RFC 8707
resource indicators. RP-initiated sign-out (OIDC RP-Initiated Logout 1.0).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    AuthorizationServer,
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    BaseGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6749.grants.base import TokenEndpointMixin
from authlib.oauth2.rfc6749.models import TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import AuthorizationCodeMixin as OpenIDCodeMixin
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import extract_compact

from comitas_shared import randomness
from comitas_shared.scopes import SCOPES

from ..keys.service import ALGORITHM
from .domain import (
    ACCESS_TOKEN_TYPE,
    ASSERTION_ALGORITHMS,
    OIDC_SCOPES,
    REFRESH_TOKEN,
    SECRET_METHODS,
    TOKEN_EXCHANGE,
    Exchange,
    ExchangePolicy,
    ExchangeRefused,
    UnknownResource,
    allowed_scope,
    decide_exchange,
    hash_code,
    hash_refresh_token,
    new_refresh_token,
    refresh_token_expiry,
    refreshed_scope,
    token_audience,
    verify_secret,
)

OAuthResponse = tuple[int, Any, list[tuple[str, str]]]
ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, "private_key_jwt"]
# ID tokens carry the sign-in's nonce; nonces longer than this are refused rather than stored.
MAX_NONCE_LENGTH = 255


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is unknown, or not one the grant allows."""

    error = "invalid_target"


# RFC 6749 §5.2: the characters an error_description may hold. Authlib refuses to build an error with
# any other, so a description that quotes what a client sent must be cleaned first.
_DESCRIPTION_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def error_description(text: str) -> str:
    """``text`` fit for an ``error_description``: any character RFC 6749 does not allow there becomes ``?``."""
    return "".join(c if c in _DESCRIPTION_CHARS else "?" for c in text)


# --- what the request needs, loaded before Authlib runs ------------------------------------------


@dataclass(frozen=True)
class Client(ClientMixin):
    client_id: str
    institution_id: str
    name: str
    auth_method: str
    secret_hash: str | None
    jwks: dict[str, Any] | None
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    # A platform service's client that may exchange tokens (RFC 8693); None for every other client.
    exchange_policy: ExchangePolicy | None = None

    @property
    def client_metadata(self) -> dict[str, Any]:
        # What Authlib's end-session endpoint reads to check post_logout_redirect_uri.
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris)}

    @property
    def is_web_client(self) -> bool:
        return "authorization_code" in self.grant_types

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # With several registered URIs the request must name one (RFC 6749 §3.1.2.3).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        # Officers sign in through web clients, so only they may ask for OpenID Connect's scopes.
        return allowed_scope(scope_to_list(scope), self.scopes, oidc=self.is_web_client)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, RFC 9700 §4.1.3

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.auth_method in SECRET_METHODS:
            # A secret is a secret whether it comes in the Authorization header or in the form.
            return method in SECRET_METHODS
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == REFRESH_TOKEN and self.auth_method == "none":
            # A public client cannot keep a refresh token safe (whatever its row says).
            return False
        return grant_type in self.grant_types


@dataclass(frozen=True)
class Officer:
    """A liaison officer who may sign in (active, of an active institution)."""

    id: str
    institution_id: str
    scopes: tuple[str, ...]
    name: str
    email: str

    def get_user_id(self) -> str:
        return self.id

    def user_info(self, scope: str) -> UserInfo:
        """OpenID Connect claims about the officer, as far as ``scope`` allows (``profile``, ``email``)."""
        return UserInfo(sub=self.id, name=self.name, email=self.email).filter(scope)


@dataclass(frozen=True)
class Code(OpenIDCodeMixin):
    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str | None
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_at: int
    consumed: bool
    token_jti: str | None
    token_expires_at: int | None
    nonce: str | None = None
    auth_time: int | None = None
    resources: tuple[str, ...] | None = None

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int | None:
        return self.auth_time


@dataclass(frozen=True)
class AccessToken(TokenMixin):
    """One of our own access tokens, signature and issuer verified."""

    claims: dict[str, Any]
    revoked: bool
    now: int

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def institution_id(self) -> str | None:
        return self.claims.get("institution_id")

    def check_client(self, client: Client) -> bool:
        return self.claims.get("client_id") == client.client_id or "admin" in client.scopes

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        return int(self.claims["exp"]) - self.now

    def is_expired(self) -> bool:
        return int(self.claims["exp"]) <= self.now

    def is_revoked(self) -> bool:
        return self.revoked


@dataclass(frozen=True)
class RefreshTokenRecord(TokenMixin):
    """A stored refresh token, found by the hash of the value presented."""

    token_hash: str
    family_id: str
    client_id: str
    user_id: str
    institution_id: str
    scope: str
    resources: tuple[str, ...] | None
    issued_at: int
    expires_at: int
    family_expires_at: int
    used: bool
    revoked: bool
    now: int

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_at - self.now

    def is_expired(self) -> bool:
        return min(self.expires_at, self.family_expires_at) <= self.now

    def is_revoked(self) -> bool:
        # A retired (rotated) token is no longer valid either.
        return self.revoked or self.used


@dataclass
class Snapshot:
    now: int
    clients: dict[str, Client] = field(default_factory=dict)
    used_assertions: set[tuple[str, str]] = field(default_factory=set)
    code: Code | None = None
    # The officer of ``code`` at the token endpoint; the one signing in at the authorization endpoint.
    officer: Officer | None = None
    signing_key: RSAKey | None = None
    verification_keys: KeySet | None = None
    revoked_jtis: set[str] = field(default_factory=set)
    # The refresh token a request presents (refresh grant, revocation, introspection), found by its hash.
    refresh_token: RefreshTokenRecord | None = None
    # Whether the authorization request's nonce was already used by this client (OIDC replay check).
    nonce_used: bool = False
    # Token exchange: whether the institution and the client the subject token was issued to may still
    # act (an institution or client deactivated since is refused).
    subject_active: bool = False
    # The kind of each institution loaded for this request (clients' and the officer's): tokens carry it
    # so services can treat a state authority as one (intake never tells a state who complained).
    institution_kinds: dict[str, str] = field(default_factory=dict)


# --- what Authlib decided, written afterwards ----------------------------------------------------


@dataclass(frozen=True)
class IssuedCode:
    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str | None
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_at: int
    nonce: str | None
    auth_time: int
    resources: tuple[str, ...] | None


@dataclass(frozen=True)
class IssuedRefreshToken:
    token_hash: str
    family_id: str
    client_id: str
    user_id: str
    institution_id: str
    scope: str
    resources: tuple[str, ...] | None
    access_jti: str
    access_expires_at: int
    issued_at: int
    expires_at: int
    family_expires_at: int


@dataclass
class Effects:
    assertions: list[tuple[str, str, int]] = field(default_factory=list)  # client_id, jti, exp
    issued_codes: list[IssuedCode] = field(default_factory=list)
    issued_tokens: list[dict[str, Any]] = field(default_factory=list)  # claims
    redeemed_code: tuple[str, dict[str, Any]] | None = None  # code hash, claims of the token it bought
    replayed_code: Code | None = None
    revocations: list[dict[str, Any]] = field(default_factory=list)  # claims
    issued_refresh_tokens: list[IssuedRefreshToken] = field(default_factory=list)
    # The refresh token a refresh request retired (rotation), to mark used if no one did first.
    rotated_refresh_token: RefreshTokenRecord | None = None
    # A retired refresh token presented again: its family is revoked (RFC 9700 §4.14.2).
    reused_refresh_token: RefreshTokenRecord | None = None
    # Families revoked at the revocation endpoint (RFC 7009 §2.1: the refresh token and its access tokens).
    revoked_families: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ServerConfig:
    issuer: str
    # Identity's own resource identifier: tokens with ``openid`` name it, so they work at userinfo.
    audience: str
    token_lifetime: int
    code_lifetime: int
    refresh_token_lifetime: int
    refresh_token_family_max: int
    assertion_max_lifetime: int
    # Where a private_key_jwt assertion may be addressed: the issuer and our endpoints (RFC 7523 §3).
    assertion_audiences: tuple[str, ...]
    # RFC 8707: the services a token may name, and the audience of a request that names none (None:
    # such requests are invalid_target).
    resources: frozenset[str] = frozenset()
    legacy_audience: str | None = None
    # Token exchange: a subject token whose aud is this (the legacy audience, where resource servers
    # still accept it) counts as addressed to every service.
    legacy_subject_audience: str | None = None


# --- Authlib's request over a parsed form --------------------------------------------------------


class _Payload(OAuth2Payload):
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class FormRequest(OAuth2Request):
    """An OAuth request: method, public URL, headers and the query (GET) or form (POST) parameters."""

    def __init__(self, method: str, uri: str, headers: Any, items: list[tuple[str, str]]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(items)

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


# --- the pieces ---------------------------------------------------------------------------------


class PrivateKeyJWT(JWTBearerClientAssertion):
    """RFC 7523 client authentication with a key from the client's registered JWK Set."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: ComitasAuthorizationServer) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.server = server

    def get_audiences(self) -> list[str]:
        return list(self.server.config.assertion_audiences)

    def resolve_client_public_key(self, client: Client) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        return KeySet.import_key_set(client.jwks)

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        # As Authlib's, but only asymmetric algorithms: the key set is public.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(description="The client assertion does not verify.") from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: jwt.Claims) -> None:
        exp = claims.get("exp")
        limit = self.server.snapshot.now + self.server.config.assertion_max_lifetime
        if isinstance(exp, (int, float)) and exp > limit:
            raise InvalidClientError(description="The client assertion expires too far in the future.")
        if len(str(claims.get("jti", ""))) > 255:
            raise InvalidClientError(description="The client assertion's jti is too long.")
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: Any) -> bool:
        key = (str(claims["sub"]), str(jti))
        effects = self.server.effects
        if key in self.server.snapshot.used_assertions or any(a[:2] == key for a in effects.assertions):
            return False
        effects.assertions.append((*key, int(claims["exp"])))
        return True


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens, signed by the active key, with the platform's ``institution_id`` claim."""

    def __init__(self, server: ComitasAuthorizationServer) -> None:
        super().__init__(issuer=server.config.issuer, alg=ALGORITHM,
                         refresh_token_generator=self.refresh_token_generator,
                         expires_generator=server.config.token_lifetime)
        self.server = server

    def refresh_token_generator(self, client: Client, grant_type: str, user: Officer | None, scope: str) -> str:
        """A new refresh token beside the access token just signed. Authlib asks for one only where the
        grant allows it (the code grant, for a client allowed refresh_token; each refresh). A refresh
        token at the code exchange starts a family; one from a refresh continues its parent's, with the
        parent's scope (RFC 6749 §6: the new refresh token's scope is the old one's, even when the access
        token was narrowed)."""
        server = self.server
        snapshot, effects = server.snapshot, server.effects
        if user is None or not effects.issued_tokens:
            raise RuntimeError("a refresh token is issued to an officer, beside an access token")
        access = effects.issued_tokens[-1]
        parent = server.refresh_parent
        if parent is not None:
            family_id, family_expires_at = parent.family_id, parent.family_expires_at
            granted, resources = parent.scope, parent.resources
        else:
            code = snapshot.code
            if code is None:
                raise RuntimeError("a refresh token family starts at a code exchange")
            family_id, family_expires_at = code.code_hash, snapshot.now + server.config.refresh_token_family_max
            granted, resources = scope, code.resources
        token = new_refresh_token()
        effects.issued_refresh_tokens.append(IssuedRefreshToken(
            token_hash=hash_refresh_token(token), family_id=family_id, client_id=client.client_id, user_id=user.id,
            institution_id=user.institution_id, scope=granted, resources=resources, access_jti=str(access["jti"]),
            access_expires_at=int(access["exp"]), issued_at=snapshot.now,
            expires_at=refresh_token_expiry(now=snapshot.now, lifetime=server.config.refresh_token_lifetime,
                                            family_expires_at=family_expires_at),
            family_expires_at=family_expires_at))
        return token

    def access_token_generator(self, client: Client, grant_type: str, user: Officer | None,
                               scope: str) -> str:
        # Replaces Authlib's to read the clock once (iat = nbf), to name the key (kid) and to keep the
        # claims for the service (revocation of a replayed code's token needs its jti and exp).
        now = self.server.snapshot.now
        audience = self.server.token_audience
        if not audience:
            raise RuntimeError("the grant did not settle the token's audience")
        return self.sign({
            "iss": self.issuer,
            "sub": user.get_user_id() if user else client.client_id,
            "aud": audience[0] if len(audience) == 1 else list(audience),
            "exp": now + self.server.config.token_lifetime,
            "iat": now,
            "nbf": now,
            "jti": randomness.token_urlsafe(24),
            "client_id": client.client_id,
            "scope": scope,
            "institution_id": (institution := user.institution_id if user else client.institution_id),
            **({"institution_kind": kind} if (kind := self.server.snapshot.institution_kinds.get(institution))
               else {}),
        })

    def exchanged_token(self, exchange: Exchange) -> dict[str, Any]:
        """The token response of a token exchange (RFC 8693 §2.2.1)."""
        now = self.server.snapshot.now
        audience = list(exchange.audience)
        token = self.sign({
            "iss": self.issuer,
            "aud": audience[0] if len(audience) == 1 else audience,
            "exp": exchange.expires_at,
            "iat": now,
            "nbf": now,
            "jti": randomness.token_urlsafe(24),
            "scope": exchange.scope,
            **exchange.claims,
        })
        return {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
                "expires_in": exchange.expires_at - now, "scope": exchange.scope}

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.server.snapshot.signing_key
        if key is None:
            raise RuntimeError("no signing key loaded for this request")
        self.server.effects.issued_tokens.append(claims)
        header = {"alg": self.alg, "typ": "at+jwt", "kid": key.kid}
        return jwt.encode(header, claims, key, algorithms=[self.alg])


def _requested_resources(request: OAuth2Request) -> list[str]:
    return [value for value in request.payload.datalist.get("resource", []) if value]


class ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ENDPOINT_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # Stricter than Authlib's default (which narrows): asking for a scope one was not granted is
        # an error the caller should see, not a silently smaller token.
        requested = set(scope_to_list(self.request.payload.scope) or [])
        if not requested <= set(self.client.scopes):
            missing = " ".join(sorted(requested - set(self.client.scopes)))
            raise InvalidScopeError(f"The client is not granted: {missing}")
        self.server.settle_audience(_requested_resources(self.request), granted=None, scope="")


class TokenExchange(BaseGrant, TokenEndpointMixin):
    """OAuth 2.0 Token Exchange (RFC 8693), for a platform service acting on an institution's behalf.

    The service authenticates as its own confidential client (which must hold an exchange policy),
    presents the access token it was called with as ``subject_token`` and asks for a ``resource`` and a
    ``scope``; the rules are ``domain.decide_exchange``. No ``actor_token``: the actor is the
    authenticated client. Errors follow RFC 8693 §2.2.2: an invalid or unacceptable subject token
    (unknown, foreign issuer, expired, revoked, not addressed to the actor) is ``invalid_request``."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = ENDPOINT_AUTH_METHODS
    SINGLE_PARAMETERS = ("subject_token", "subject_token_type", "actor_token", "actor_token_type",
                         "requested_token_type", "scope")

    exchange: Exchange | None = None

    @property
    def _server(self) -> ComitasAuthorizationServer:
        return self.server

    def validate_token_request(self) -> None:
        client: Client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE) or client.exchange_policy is None:
            raise UnauthorizedClientError("This client may not exchange tokens.")
        self.request.client = client
        payload = self.request.payload
        for name in self.SINGLE_PARAMETERS:
            if len(payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Repeated '{name}' parameter.")
        data = payload.data
        if data.get("actor_token") or data.get("actor_token_type"):
            raise InvalidRequestError("actor_token is not accepted: the actor is the authenticated client.")
        if not data.get("subject_token"):
            raise InvalidRequestError("Missing 'subject_token' parameter.")
        if data.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"subject_token_type must be {ACCESS_TOKEN_TYPE}.")
        if data.get("requested_token_type") not in (None, "", ACCESS_TOKEN_TYPE):
            raise InvalidRequestError(f"Only {ACCESS_TOKEN_TYPE} can be issued.")
        subject = self._server.read_token(data["subject_token"])
        if subject is None:
            raise InvalidRequestError("The subject_token is not an access token of this issuer.")
        if subject.is_revoked():
            raise InvalidRequestError("The subject_token has been revoked.")
        if subject.is_expired():
            raise InvalidRequestError("The subject_token has expired.")
        if not self._server.snapshot.subject_active:
            raise InvalidRequestError("The institution or client of the subject_token may no longer act.")
        config = self._server.config
        # RFC 8693's audience parameter names the target too; here both are the services' URNs.
        targets = [v for name in ("resource", "audience") for v in payload.datalist.get(name, []) if v]
        try:
            self.exchange = decide_exchange(
                subject=subject.claims, actor=client.client_id, policy=client.exchange_policy,
                requested_resources=targets, requested_scopes=scope_to_list(payload.scope) or [],
                known_resources=config.resources, legacy_audience=config.legacy_subject_audience,
                now=self._server.snapshot.now, lifetime=config.token_lifetime)
        except ExchangeRefused as refused:
            raise {"invalid_target": InvalidTargetError, "invalid_scope": InvalidScopeError}.get(
                refused.error, InvalidRequestError)(error_description(str(refused))) from None

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        if self.exchange is None:
            raise RuntimeError("validate_token_request first")
        return 200, self._server.token_generator.exchanged_token(self.exchange), self.TOKEN_RESPONSE_HEADER


class S256CodeChallenge(CodeChallenge):
    """PKCE is required of every client, with S256 only (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCode(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*ENDPOINT_AUTH_METHODS, "none"]

    @property
    def _server(self) -> ComitasAuthorizationServer:
        return self.server

    def validate_authorization_request(self) -> str:
        redirect_uri = super().validate_authorization_request()
        # Errors from here on go back to the client: its redirect URI has been checked.
        try:
            nonce = self.request.payload.data.get("nonce")
            if nonce is not None and len(nonce) > MAX_NONCE_LENGTH:
                raise InvalidRequestError(f"The nonce is longer than {MAX_NONCE_LENGTH} characters.")
            resources = _requested_resources(self.request)
            self._server.settle_audience(resources, granted=None, scope=self.request.scope or "")
        except OAuth2Error as error:
            error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        officer: Officer = request.user
        client: Client = request.client
        # Requested ∩ client's (request.scope, from Client.get_allowed_scope) ∩ the officer's; OpenID
        # Connect's scopes ask for the officer's own identity, which needs no grant.
        requested = set(scope_to_list(request.scope) or [])
        scopes = sorted(((requested - OIDC_SCOPES) & set(officer.scopes)) | (requested & OIDC_SCOPES))
        if not scopes:
            raise AccessDeniedError("None of the requested scopes is granted to this officer.",
                                    redirect_uri=request.payload.redirect_uri
                                    or client.get_default_redirect_uri())
        data = request.payload.data
        resources = _requested_resources(request)
        now = self._server.snapshot.now
        self._server.effects.issued_codes.append(IssuedCode(
            code_hash=hash_code(code), client_id=client.client_id, user_id=officer.id,
            redirect_uri=request.payload.redirect_uri, scope=" ".join(scopes),
            code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"],
            expires_at=now + self._server.config.code_lifetime, nonce=data.get("nonce") or None,
            auth_time=now, resources=tuple(sorted(set(resources))) if resources else None,
        ))

    def validate_token_request(self) -> None:
        super().validate_token_request()
        code: Code = self.request.authorization_code
        self._server.settle_audience(_requested_resources(self.request), granted=code.resources,
                                     scope=code.scope)

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self._server.snapshot.code
        if found is None or found.code_hash != hash_code(code) or found.client_id != client.client_id:
            return None
        if found.consumed:
            self._server.effects.replayed_code = found
            return None
        if found.expires_at <= self._server.snapshot.now:
            return None
        return found

    def delete_authorization_code(self, authorization_code: Code) -> None:
        # Kept, marked used, with the token it bought (see models.AuthorizationCode).
        effects = self._server.effects
        effects.redeemed_code = (authorization_code.code_hash, effects.issued_tokens[-1])

    def authenticate_user(self, authorization_code: Code) -> Officer | None:
        officer = self._server.snapshot.officer
        return officer if officer is not None and officer.id == authorization_code.user_id else None


class RefreshToken(RefreshTokenGrant):
    """The refresh token grant (RFC 6749 §6) for confidential web clients, with rotation (RFC 9700
    §4.14.2): each use retires the token presented and returns its successor; a retired token presented
    again (by a thief, or by the client after a thief) revokes the whole family. The officer must still
    be able to sign in (active, of an active institution). The scope may narrow, never widen; no ID
    token is issued (OpenID Connect Core §12.2 allows it, and the client keeps the one it has)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    granted_scope = ""

    @property
    def _server(self) -> ComitasAuthorizationServer:
        return self.server

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenRecord | None:
        found = self._server.snapshot.refresh_token
        if found is None or found.token_hash != hash_refresh_token(refresh_token):
            return None
        if found.used and not found.revoked:
            # Checked before expiry and before the client: a retired token in anyone's hands is a theft.
            self._server.effects.reused_refresh_token = found
            return None
        if found.revoked or found.is_expired():
            return None
        return found

    def validate_token_request(self) -> None:
        for name in ("refresh_token", "scope"):
            if len(self.request.payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Repeated '{name}' parameter.")
        super().validate_token_request()
        token: RefreshTokenRecord = self.request.refresh_token
        officer = self._server.snapshot.officer
        if officer is None or officer.id != token.user_id or officer.institution_id != token.institution_id:
            raise InvalidGrantError("The officer of this refresh token may no longer sign in.")
        scope = refreshed_scope(requested=scope_to_list(self.request.payload.scope), granted=token.scope,
                                officer_scopes=officer.scopes)
        if not scope:
            raise InvalidScopeError("The refresh token does not grant that scope, or the officer no longer holds it.")
        self.granted_scope = scope
        self._server.settle_audience(_requested_resources(self.request), granted=token.resources, scope=scope)
        self._server.refresh_parent = token

    def issue_token(self, user: Officer, refresh_token: RefreshTokenRecord) -> dict[str, Any]:
        return self.generate_token(user=user, scope=self.granted_scope, include_refresh_token=True)

    def authenticate_user(self, refresh_token: RefreshTokenRecord) -> Officer | None:
        return self._server.snapshot.officer

    def revoke_old_credential(self, refresh_token: RefreshTokenRecord) -> None:
        # Marked used when written, by a conditional update: of two concurrent uses, one wins and the
        # other is a reuse.
        self._server.effects.rotated_refresh_token = refresh_token


class OpenIDConnect(OpenIDCode):
    """ID tokens at the code exchange when ``openid`` was granted: signed with the active key, ``aud``
    the client, with the sign-in's ``nonce`` and ``auth_time``."""

    def __init__(self, server: ComitasAuthorizationServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return self.server.snapshot.nonce_used

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        key = self.server.snapshot.signing_key
        if key is None:
            raise RuntimeError("no signing key loaded for this request")
        return key

    def get_client_algorithm(self, client: Client) -> str:
        return ALGORITHM

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALGORITHM, "typ": "JWT", "kid": self.resolve_client_private_key(client).kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = self.server.snapshot.now
        return {"iss": self.server.config.issuer, "aud": client.client_id, "iat": now,
                "exp": now + self.server.config.token_lifetime}

    def generate_user_info(self, user: Officer, scope: str) -> UserInfo:
        return user.user_info(scope)


class EndSession(EndSessionEndpoint):
    """RP-initiated sign-out. Identity keeps no browser session (every authorization asks for the
    password), so there is nothing to end here; what matters is that the browser is sent back only to a
    URI the client registered, and only on the word of an ID token we issued."""

    def __init__(self, server: ComitasAuthorizationServer) -> None:
        super().__init__(server)

    def get_server_jwks(self) -> KeySet:
        keys = self.server.snapshot.verification_keys
        if keys is None:
            raise RuntimeError("no verification keys loaded for this request")
        return keys

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def validate_request(self, request: OAuth2Request) -> Any:
        validated = super().validate_request(request)
        if validated.id_token_claims is not None:
            # Access tokens are signed with the same keys (typ at+jwt): only our ID tokens are hints.
            header = extract_compact(request.payload.data["id_token_hint"].encode()).protected
            if header.get("typ") != "JWT" or validated.id_token_claims.get("iss") != self.server.config.issuer:
                raise InvalidRequestError("The id_token_hint is not an ID token of this issuer.")
        return validated

    def end_session(self, end_session_request: Any) -> None:
        """Nothing to end: see the class docstring."""


class _OwnTokens:
    """Introspection and revocation take only our own access tokens; unknown hints are ignored
    (RFC 7009 §2.1, RFC 7662 §2.1)."""

    CLIENT_AUTH_METHODS = ENDPOINT_AUTH_METHODS
    server: ComitasAuthorizationServer

    def check_params(self, request: OAuth2Request, client: Client) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token' parameter.")

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | RefreshTokenRecord | None:
        found = self.server.read_token(token_string)
        if found is not None:
            return found
        refresh = self.server.snapshot.refresh_token
        if refresh is not None and refresh.token_hash == hash_refresh_token(token_string):
            return refresh
        return None


class Introspection(_OwnTokens, IntrospectionEndpoint):
    def check_permission(self, token: AccessToken | RefreshTokenRecord, client: Client,
                         request: OAuth2Request) -> bool:
        if isinstance(token, RefreshTokenRecord):
            # Only the client that holds it (or the platform's admin) learns anything about a refresh token.
            return "admin" in client.scopes or token.client_id == client.client_id
        # A client sees the tokens issued to it and its institution's; the platform's admin sees all.
        return ("admin" in client.scopes or token.institution_id == client.institution_id
                or token.claims.get("client_id") == client.client_id)

    def introspect_token(self, token: AccessToken | RefreshTokenRecord) -> dict[str, Any]:
        if isinstance(token, RefreshTokenRecord):
            return {"active": True, "token_type": "refresh_token", "scope": token.scope,
                    "client_id": token.client_id, "sub": token.user_id, "institution_id": token.institution_id,
                    "iss": self.server.config.issuer, "iat": token.issued_at,
                    "exp": min(token.expires_at, token.family_expires_at)}
        shown = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "institution_id", "act")
        claims = token.claims
        return {"active": True, "token_type": "Bearer", **{k: claims[k] for k in shown if k in claims}}


class Revocation(_OwnTokens, RevocationEndpoint):
    def authenticate_token(self, request: OAuth2Request, client: Client) -> AccessToken | RefreshTokenRecord | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # Another client's token is treated as unknown: 200 and nothing revoked, so that the answer
        # does not tell the caller the token is valid.
        if token is None or token.is_expired() or not token.check_client(client):
            return None
        return token

    def revoke_token(self, token: AccessToken | RefreshTokenRecord, request: OAuth2Request) -> None:
        if isinstance(token, RefreshTokenRecord):
            # RFC 7009 §2.1: the refresh token, its family and the access tokens bought with them.
            if not token.revoked:
                self.server.effects.revoked_families.append(token.family_id)
            return
        if not token.is_revoked():
            self.server.effects.revocations.append(token.claims)


class ComitasAuthorizationServer(AuthorizationServer):
    """One per request: it answers from ``snapshot`` and records its writes in ``effects``."""

    def __init__(self, config: ServerConfig, snapshot: Snapshot) -> None:
        super().__init__(scopes_supported=sorted({*SCOPES, *OIDC_SCOPES}))
        self.config = config
        self.snapshot = snapshot
        self.effects = Effects()
        # The ``aud`` of the token this request mints, settled by its grant (RFC 8707).
        self.token_audience: list[str] | None = None
        # The refresh token a refresh request presents: its successor continues its family.
        self.refresh_parent: RefreshTokenRecord | None = None
        self.register_client_auth_method("private_key_jwt", PrivateKeyJWT(self))
        self.token_generator = AccessTokenGenerator(self)
        self.register_token_generator("default", self.token_generator)
        self.register_grant(ClientCredentials)
        self.register_grant(TokenExchange)
        self.register_grant(AuthorizationCode, [S256CodeChallenge(required=True), OpenIDConnect(self)])
        self.register_grant(RefreshToken)
        self.register_endpoint(Introspection(self))
        self.register_endpoint(Revocation(self))
        self.register_endpoint(EndSession(self))

    def settle_audience(self, requested: list[str], *, granted: tuple[str, ...] | None, scope: str) -> None:
        """The token's ``aud`` from the request's resource indicators, or ``invalid_target``."""
        try:
            self.token_audience = token_audience(
                requested, granted=granted, known=self.config.resources,
                legacy=self.config.legacy_audience,
                own=self.config.audience if "openid" in (scope_to_list(scope) or []) else None)
        except UnknownResource as exc:
            raise InvalidTargetError(error_description(str(exc))) from None

    def query_client(self, client_id: str) -> Client | None:
        return self.snapshot.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Access tokens are self-contained JWTs: nothing to store (their claims are in ``effects``)."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal listeners."""

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> OAuthResponse:
        return status, body, headers

    def error_response(self, error: OAuth2Error) -> OAuthResponse:
        return self.handle_response(*error())

    def read_token(self, value: str) -> AccessToken | None:
        """Our access token if ``value`` is one (signature by a key still in the JWKS, typ, issuer)."""
        keys = self.snapshot.verification_keys
        if keys is None:
            return None
        try:
            decoded = jwt.decode(value, keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError):
            return None
        claims = decoded.claims
        if decoded.header.get("typ") != "at+jwt" or claims.get("iss") != self.config.issuer:
            return None
        if not all(isinstance(claims.get(name), str) for name in ("jti", "client_id")):
            return None
        if not isinstance(claims.get("exp"), int):
            return None
        return AccessToken(claims=dict(claims), revoked=claims["jti"] in self.snapshot.revoked_jtis,
                           now=self.snapshot.now)
