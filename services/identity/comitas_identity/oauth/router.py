"""HTTP endpoints of the authorization server. OAuth endpoints answer in OAuth's own formats
(RFC 6749 §5.2 JSON errors, redirects, an HTML sign-in page), not problem+json."""

from __future__ import annotations

from typing import Annotated, Any

from authlib.oauth2.rfc6749 import OAuth2Error
from fastapi import APIRouter, Depends, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, JSONResponse, Response

from comitas_shared.db import Session
from comitas_shared.scopes import SCOPES

from ..dependencies import KeyRingDep, SettingsDep
from . import service
from .metadata import metadata_document
from .server import FormRequest, OAuthResponse
from .service import Context, SignInPrompt

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
_CREDENTIALS = ("email", "password")


def get_context(request: Request, settings: SettingsDep, keyring: KeyRingDep) -> Context:
    return Context(settings=settings, keyring=keyring, tables=request.app.state.platform.tables)


ContextDep = Annotated[Context, Depends(get_context)]


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


def _authorization_answer(result: SignInPrompt | OAuthResponse | OAuth2Error, context: Context,
                          email: str | None = None) -> Response:
    if isinstance(result, SignInPrompt):
        page = _templates.get_template("login.html").render(
            prompt=result, descriptions=SCOPES, action=context.settings.endpoint("/oauth/authorize"),
            email=email)
        return HTMLResponse(page, headers=_PAGE_HEADERS)
    if isinstance(result, OAuth2Error):
        page = _templates.get_template("error.html").render(error=result.error,
                                                            description=result.get_error_description())
        return HTMLResponse(page, status_code=result.status_code, headers=_PAGE_HEADERS)
    return _respond(result)


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}}


_STRING = {"type": "string"}
_CLIENT_AUTH = {"client_id": _STRING, "client_secret": _STRING, "client_assertion_type": _STRING,
                "client_assertion": _STRING}
_OAUTH_ERRORS = {400: {"description": "RFC 6749 §5.2 error (invalid_request, invalid_scope, invalid_grant…)"},
                 401: {"description": "invalid_client, with WWW-Authenticate"}}


@router.post("/oauth/token", summary="Token endpoint (client_credentials, authorization_code with PKCE)",
             responses=_OAUTH_ERRORS,
             openapi_extra=_form({"grant_type": {"type": "string",
                                                 "enum": ["client_credentials", "authorization_code"]},
                                  "scope": _STRING, "code": _STRING, "redirect_uri": _STRING,
                                  "code_verifier": _STRING, **_CLIENT_AUTH}, ["grant_type"]))
async def token(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/token")
    return _respond(await service.token(session, context, oauth_request))


@router.post("/oauth/introspect", summary="Token introspection (RFC 7662)", responses=_OAUTH_ERRORS,
             openapi_extra=_form({"token": _STRING, "token_type_hint": _STRING, **_CLIENT_AUTH}, ["token"]))
async def introspect(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/introspect")
    return _respond(await service.introspect(session, context, oauth_request))


@router.post("/oauth/revoke", summary="Token revocation (RFC 7009)", responses=_OAUTH_ERRORS,
             openapi_extra=_form({"token": _STRING, "token_type_hint": _STRING, **_CLIENT_AUTH}, ["token"]))
async def revoke(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/revoke")
    return _respond(await service.revoke(session, context, oauth_request))


@router.get("/oauth/authorize", summary="Authorization endpoint: the liaison officers' sign-in page",
            response_class=HTMLResponse)
async def authorization_page(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, _ = await _oauth_request(request, context, "/oauth/authorize")
    return _authorization_answer(await service.authorization_prompt(session, context, oauth_request), context)


@router.post("/oauth/authorize", summary="Sign in, then back to the client with an authorization code",
             response_class=HTMLResponse,
             openapi_extra=_form({"email": _STRING, "password": _STRING, "response_type": _STRING,
                                  "client_id": _STRING, "redirect_uri": _STRING, "scope": _STRING,
                                  "state": _STRING, "code_challenge": _STRING,
                                  "code_challenge_method": _STRING},
                                 ["email", "password", "client_id", "response_type", "code_challenge"]))
async def authorize(request: Request, session: Session, context: ContextDep) -> Response:
    oauth_request, credentials = await _oauth_request(request, context, "/oauth/authorize")
    email = credentials.get("email", "")
    result = await service.authorize(session, context, oauth_request, email=email,
                                     password=credentials.get("password", ""))
    return _authorization_answer(result, context, email=email)


@router.get("/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)")
async def authorization_server_metadata(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata_document(settings), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/openid-configuration", summary="The same metadata, where OIDC clients look for it")
async def openid_configuration(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata_document(settings), headers={"Cache-Control": "public, max-age=300"})
