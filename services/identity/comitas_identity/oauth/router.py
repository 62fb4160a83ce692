"""HTTP endpoints of the authorization server. OAuth endpoints answer in OAuth's own formats
(RFC 6749 §5.2 JSON errors, redirects, an HTML sign-in page), not problem+json; userinfo, a resource,
answers like every other resource (problem+json with WWW-Authenticate)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import APIRouter, Depends, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, JSONResponse, Response

from comitas_shared.auth import CurrentPrincipal
from comitas_shared.db import Session
from comitas_shared.openapi import problem_response
from comitas_shared.scopes import SCOPES
from comitas_shared.throttle import Throttle, TooManyRequests, client_address

from ..deps import SettingsDep, ThrottlesDep
from ..users.service import normalise_email
from . import csrf, service
from .domain import ACCESS_TOKEN_TYPE, REFRESH_TOKEN, TOKEN_EXCHANGE
from .metadata import metadata_document
from .server import FormRequest, OAuthResponse
from .service import Context, SignedOut, SignInPrompt

router = APIRouter(tags=["oauth"])

_templates = Environment(loader=PackageLoader("comitas_identity.oauth", "templates"),
                         autoescape=select_autoescape(["html"]))
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # Framing would allow clickjacking of the sign-in form; nothing on these pages needs scripts.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Kept out of the OAuth request: the officer's credentials and the form's CSRF token.
_CREDENTIALS = ("email", "password", csrf.FIELD)


def get_context(request: Request) -> Context:
    # Built once in create_app, so what it caches (the form key) lasts the process, not one request.
    context: Context = request.app.state.oauth_context
    return context


ContextDep = Annotated[Context, Depends(get_context)]


# --- throttling of guesses ------------------------------------------------------------------------


@dataclass
class Attempt:
    """One guess (a secret, a password). The window is read before the endpoint runs; a failure marked
    by the endpoint is counted after its transaction has committed (this dependency is entered before
    ``Session``, so it exits after it), in a transaction of the throttle's own."""

    throttle: Throttle
    key: tuple[str, ...]
    retry_after: int | None
    failed: bool = False


async def _attempt(throttle: Throttle, key: tuple[str, ...]) -> AsyncIterator[Attempt]:
    attempt = Attempt(throttle, key, await throttle.retry_after(*key))
    yield attempt
    if attempt.failed:
        # Another replica may have filled the window meanwhile: the next request will be refused.
        with contextlib.suppress(TooManyRequests):
            await throttle.hit(*key)


def _claimed_client_id(request: Request, form: FormData) -> str:
    """Whoever the request says it is (verified later, or not): Basic user, form client_id, or the
    subject of a client assertion."""
    with contextlib.suppress(UnicodeDecodeError, ValueError):
        basic_id, _ = extract_basic_authorization(request.headers)
        if basic_id:
            return str(basic_id)
    if isinstance(client_id := form.get("client_id"), str) and client_id:
        return client_id
    if isinstance(assertion := form.get("client_assertion"), str):
        subject = service.unverified_claims(assertion).get("sub")
        if isinstance(subject, str):
            return subject
    return ""


async def token_attempt(request: Request, throttles: ThrottlesDep) -> AsyncIterator[Attempt]:
    form = await request.form()
    key = (_claimed_client_id(request, form)[:255], client_address(request, throttles.trusted_proxies))
    async for attempt in _attempt(throttles.token, key):
        yield attempt


async def sign_in_attempt(request: Request, throttles: ThrottlesDep) -> AsyncIterator[Attempt]:
    form = await request.form()
    email = form.get("email")
    key = (normalise_email(email if isinstance(email, str) else "")[:320],
           client_address(request, throttles.trusted_proxies))
    async for attempt in _attempt(throttles.sign_in, key):
        yield attempt


TokenAttempt = Annotated[Attempt, Depends(token_attempt, scope="function")]
SignInAttempt = Annotated[Attempt, Depends(sign_in_attempt, scope="function")]


# --- requests and answers -------------------------------------------------------------------------


async def _oauth_request(request: Request, context: Context, path: str) -> tuple[FormRequest, dict[str, str]]:
    """The OAuth request at its public URL, and the sign-in credentials kept apart from it."""
    if request.method == "GET":
        items = list(request.query_params.multi_items())
    else:
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    credentials = {k: v for k, v in items if k in _CREDENTIALS}
    items = [(k, v) for k, v in items if k not in _CREDENTIALS]
    return FormRequest(request.method, context.settings.endpoint(path), request.headers, items), credentials


def _respond(result: OAuthResponse) -> Response:
    status, body, headers = result
    kept = {name: value for name, value in headers if name.lower() != "content-type"}
    if 300 <= status < 400:
        return Response(status_code=status, headers={**kept, "Cache-Control": "no-store"})
    return JSONResponse(body, status_code=status, headers=kept)


def _page(template: str, status_code: int = 200, headers: dict[str, str] | None = None,
          **values: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(template).render(**values), status_code=status_code,
                        headers={**_PAGE_HEADERS, **(headers or {})})


def _error_page(error: OAuth2Error) -> HTMLResponse:
    return _page("error.html", error.status_code, error=error.error, description=error.get_error_description())


def _authorization_answer(request: Request, result: SignInPrompt | OAuthResponse | OAuth2Error,
                          context: Context, *, email: str | None = None, status_code: int = 200,
                          headers: dict[str, str] | None = None) -> Response:
    if isinstance(result, SignInPrompt):
        secret = request.cookies.get(csrf.COOKIE)
        fresh = not csrf.usable_browser_secret(secret)
        if fresh:
            secret = csrf.new_browser_secret()
        token = csrf.form_token(context.form_key, secret or "", result.parameters)
        response = _page("login.html", status_code, headers, prompt=result, descriptions=SCOPES,
                         action=context.settings.endpoint("/oauth/authorize"), email=email,
                         csrf_field=csrf.FIELD, csrf_token=token)
        if fresh:
            response.set_cookie(csrf.COOKIE, secret or "", max_age=csrf.COOKIE_MAX_AGE, path="/oauth/authorize",
                                httponly=True, samesite="lax",
                                secure=context.settings.public_url.startswith("https://"))
        return response
    if isinstance(result, OAuth2Error):
        return _error_page(result)
    return _respond(result)


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}}


_STRING = {"type": "string"}
_RESOURCES = {"type": "array",
              # An empty value is ignored, as if the parameter were absent (forms send empty fields).
              "items": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "string", "maxLength": 0}]},
              "description": "RFC 8707 resource indicators: the services the token is for (repeatable)"}
_CLIENT_AUTH = {"client_id": _STRING, "client_secret": _STRING, "client_assertion_type": _STRING,
                "client_assertion": _STRING}
_OAUTH_ERROR = {"application/json": {"schema": {
    "type": "object", "required": ["error"],
    "properties": {"error": _STRING, "error_description": _STRING, "error_uri": _STRING}}}}
_OAUTH_ERRORS = {400: {"description": "RFC 6749 §5.2 error (invalid_request, invalid_scope, invalid_grant, "
                                       "invalid_target…)", "content": _OAUTH_ERROR},
                 401: {"description": "invalid_client, with WWW-Authenticate", "content": _OAUTH_ERROR},
                 429: problem_response("too many failed requests from this client and address; Retry-After", 429)}
# The browser-facing endpoints answer a request they cannot send back to the client with a page.
_HTML = {"text/html": {"schema": {"type": "string"}}}
_HTML_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the request is invalid and cannot be sent back to the client: an error page",
          "content": _HTML}}


@router.post("/oauth/token", summary="Token endpoint (client_credentials, authorization_code with PKCE, "
                                    "refresh_token for web clients, token exchange for platform services)",
             description="Refresh (RFC 6749 §6, ADR 0071): a confidential web client allowed the `refresh_token` grant "
                         "gets a refresh token with the officer's tokens at the code exchange; each use returns a new "
                         "access token and a new refresh token and retires the one presented, and a retired one "
                         "presented again revokes every token of its sign-in (`invalid_grant`). `scope` may narrow "
                         "what was granted, never widen it.\n\n"
                         "Token exchange (RFC 8693): a platform service's client presents the access token it was "
                         "called with as `subject_token` (`subject_token_type` "
                         f"`{ACCESS_TOKEN_TYPE}`), names one `resource` and the `scope` the call needs, and gets a "
                         "token of the same institution for that service, narrowed to that scope, expiring no later "
                         "than the subject token, with `act: {\"sub\": <service client>}`.",
             responses=_OAUTH_ERRORS,
             openapi_extra=_form({"grant_type": {"type": "string",
                                                 "enum": ["client_credentials", "authorization_code",
                                                          REFRESH_TOKEN, TOKEN_EXCHANGE]},
                                  "scope": _STRING, "code": _STRING, "redirect_uri": _STRING,
                                  "refresh_token": _STRING,
                                  "code_verifier": _STRING, "resource": _RESOURCES, "subject_token": _STRING,
                                  # Read by token exchange only (other grants ignore them), so no enum.
                                  "subject_token_type": {"type": "string",
                                                         "description": f"token exchange: {ACCESS_TOKEN_TYPE}"},
                                  "requested_token_type": {"type": "string",
                                                           "description": f"token exchange: {ACCESS_TOKEN_TYPE}"},
                                  **_CLIENT_AUTH},
                                 ["grant_type"]))
async def token(attempt: TokenAttempt, request: Request, session: Session, context: ContextDep) -> Response:
    if attempt.retry_after is not None:
        # Problem details with OAuth's error member, so both kinds of client understand it.
        raise TooManyRequests(f"too many failed token requests; try again in {attempt.retry_after} seconds",
                              retry_after=attempt.retry_after, error="temporarily_unavailable",
                              error_description="too many failed requests from this client and address")
    oauth_request, _ = await _oauth_request(request, context, "/oauth/token")
    response = _respond(await service.token(session, context, oauth_request))
    attempt.failed = response.status_code >= 400
    if oauth_request.payload.grant_type == TOKEN_EXCHANGE:
        # Past its own authentication, a service's exchange refused for the subject token, the target or
        # the scope guesses at nothing (tokens are signed); counting it would let one institution's bad
        # tokens lock the service out of exchanges for every institution.
        attempt.failed = response.status_code == 401
    elif oauth_request.payload.grant_type == REFRESH_TOKEN:
        # Likewise a refused refresh (256 random bits are not guessed): one officer's revoked or expired
        # refresh token must not lock the web client out of every officer's sign-in and refresh.
        attempt.failed = response.status_code == 401
    return response


@router.post("/oauth/introspect", summary="Token introspection (RFC 7662): access and refresh tokens",
             responses=_OAUTH_ERRORS,
             openapi_extra=_form({"token": _STRING, "token_type_hint": _STRING, **_CLIENT_AUTH}, ["token"]))
async def introspect(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/introspect")
    return _respond(await service.introspect(session, context, oauth_request))


@router.post("/oauth/revoke", summary="Token revocation (RFC 7009): an access token, or a refresh token with "
                                     "every token of its sign-in", responses=_OAUTH_ERRORS,
             openapi_extra=_form({"token": _STRING, "token_type_hint": _STRING, **_CLIENT_AUTH}, ["token"]))
async def revoke(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/revoke")
    return _respond(await service.revoke(session, context, oauth_request))


@router.get("/oauth/authorize", summary="Authorization endpoint: the liaison officers' sign-in page",
            response_class=HTMLResponse, responses=_HTML_ERRORS)
async def authorization_page(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/authorize")
    return _authorization_answer(request, await service.authorization_prompt(session, context, oauth_request),
                                 context)


@router.post("/oauth/authorize", summary="Sign in, then back to the client with an authorization code",
             response_class=HTMLResponse,
             responses={**_HTML_ERRORS,
                        403: {"description": "the form's CSRF token is missing or wrong", "content": _HTML},
                        429: {"description": "too many failed sign-ins for the account from this address",
                              "content": _HTML}},
             openapi_extra=_form({"email": _STRING, "password": _STRING, csrf.FIELD: _STRING,
                                  "response_type": _STRING, "client_id": _STRING, "redirect_uri": _STRING,
                                  "scope": _STRING, "state": _STRING, "code_challenge": _STRING,
                                  "code_challenge_method": _STRING, "nonce": _STRING, "prompt": _STRING,
                                  "resource": _RESOURCES},
                                 ["email", "password", csrf.FIELD, "client_id", "response_type",
                                  "code_challenge"]))
async def authorize(attempt: SignInAttempt, request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, credentials = await _oauth_request(request, context, "/oauth/authorize")
    if not csrf.token_matches(context.form_key, request.cookies.get(csrf.COOKIE),
                              service.carried_parameters(oauth_request), credentials.get(csrf.FIELD)):
        # A request that is wrong in itself says so first (and is never redirected to an unchecked URI).
        checked = await service.authorization_prompt(session, context, oauth_request)
        if not isinstance(checked, SignInPrompt):
            return _authorization_answer(request, checked, context)
        return _page("refused.html", 403, title="This sign-in form cannot be accepted",
                     message="The form was not sent from this sign-in page, or it has expired, or your browser "
                             "does not keep cookies for this site. Go back to the application you came from "
                             "and start signing in again.")
    email = credentials.get("email", "")
    if attempt.retry_after is not None:
        prompt = await service.authorization_prompt(session, context, oauth_request)
        if isinstance(prompt, SignInPrompt):
            prompt = service.with_error(prompt, f"Too many failed sign-ins for this account from your address. "
                                                f"Try again in {attempt.retry_after} seconds.")
        return _authorization_answer(request, prompt, context, email=email, status_code=429,
                                     headers={"Retry-After": str(attempt.retry_after)})
    result = await service.authorize(session, context, oauth_request, email=email,
                                     password=credentials.get("password", ""))
    attempt.failed = isinstance(result, SignInPrompt) and result.error is not None
    return _authorization_answer(request, result, context, email=email)


_USERINFO_ERRORS = {401: {"description": "missing or invalid access token"},
                    403: {"description": "the token lacks the openid scope"}}


@router.get("/oauth/userinfo", summary="OpenID Connect userinfo", responses=_USERINFO_ERRORS,
            operation_id="userinfo")
@router.post("/oauth/userinfo", summary="OpenID Connect userinfo (POST)", responses=_USERINFO_ERRORS,
             operation_id="userinfo_post")
async def userinfo(principal: CurrentPrincipal, session: Session) -> JSONResponse:
    return JSONResponse(await service.userinfo(session, principal), headers={"Cache-Control": "no-store"})


@router.get("/oauth/logout", response_class=HTMLResponse, operation_id="end_session", responses=_HTML_ERRORS,
            summary="RP-initiated sign-out (OpenID Connect RP-Initiated Logout 1.0)")
@router.post("/oauth/logout", response_class=HTMLResponse, operation_id="end_session_post", responses=_HTML_ERRORS,
             summary="RP-initiated sign-out (POST)")
async def end_session(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/logout")
    result = await service.end_session(session, context, oauth_request)
    if isinstance(result, SignedOut):
        return _page("signed_out.html", client_name=result.client_name)
    if isinstance(result, OAuth2Error):
        return _error_page(result)
    return _respond(result)


@router.get("/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)")
async def authorization_server_metadata(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata_document(settings), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/openid-configuration", summary="OpenID Provider metadata (OpenID Connect Discovery 1.0)")
async def openid_configuration(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata_document(settings), headers={"Cache-Control": "public, max-age=300"})
