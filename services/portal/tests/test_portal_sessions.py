"""Sessions over plain HTTP (what a browser does, without one): sign-in through identity, the page that
follows, sign-out that revokes the token, forged and replayed cookies, CSRF on every form, the headers on
every page, and tenancy (another institution's case is not found)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import httpx
import pytest
from portal_kit import app_routes, csrf_of, expire_token, identity_form, session_row, sign_in

from comitas_portal.main import create_app
from comitas_portal.sessions import service as sessions
from comitas_portal.settings import PortalSettings
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.testing import eventually

pytestmark = pytest.mark.timeout(180)
COOKIE = "comitas_portal_session"


async def test_sign_in_shows_today_and_sign_out_revokes_the_token(portal):
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        assert today.status_code == 200
        assert "Today" in today.text and officer.name in today.text
        cookie = http.cookies.get(COOKIE)
        assert cookie and "." not in cookie  # opaque, not a JWT

        # The token the session holds works at the services until sign-out...

        database = Database(portal.database_url)
        try:
            async with database.transaction() as session:
                held = await sessions.current(session, portal.served.app.state.sealer, cookie=cookie,
                                              now=real_now())
        finally:
            await database.dispose()
        assert held is not None
        assert (await http.get(f"{portal.stack.intake.url}/v1/complaints",
                               headers={"Authorization": f"Bearer {held.token}"})).status_code == 200

        signed_out = await http.post(f"{portal.url}/auth/logout", data={"csrf_token": csrf_of(today.text)},
                                     follow_redirects=False)
        assert signed_out.status_code == 303
        assert COOKIE not in http.cookies

        # ... and is refused everywhere after (identity's deny-list reaches the services by event).
        async def refused() -> bool:
            answer = await http.get(f"{portal.stack.intake.url}/v1/complaints",
                                    headers={"Authorization": f"Bearer {held.token}"})
            return answer.status_code == 401
        await eventually(refused, timeout=10)

        # The old cookie, replayed, opens nothing.
        replayed = await http.get(f"{portal.url}/cases", cookies={COOKIE: cookie}, follow_redirects=False)
        assert replayed.status_code == 303 and replayed.headers["location"].startswith("/auth/login")


async def test_a_forged_cookie_is_refused(portal):
    async with httpx.AsyncClient(timeout=20) as http:
        for forged in ("x" * 43, "", "a.b.c", "z" * 500):
            answer = await http.get(f"{portal.url}/cases", cookies={COOKIE: forged}, follow_redirects=False)
            assert answer.status_code == 303, forged
            assert answer.headers["location"].startswith("/auth/login")
        home = await http.get(f"{portal.url}/", cookies={COOKIE: "x" * 43})
        assert home.status_code == 200 and 'href="/auth/login' in home.text


async def test_a_callback_from_another_browser_or_replayed_is_refused(portal):
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as victim, httpx.AsyncClient(timeout=20) as attacker:
        start = await victim.get(f"{portal.url}/auth/login", follow_redirects=False)
        page = await victim.get(start.headers["location"])
        fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
        body = urlencode([(n, unescape(v)) for n, v in fields] + [("email", officer.email),
                                                                   ("password", officer.password)])
        answer = await victim.post(str(page.url).split("?")[0], content=body, follow_redirects=False,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        callback = answer.headers["location"]
        # Delivered to another browser (login CSRF): refused, no session.
        elsewhere = await attacker.get(callback, follow_redirects=False)
        assert elsewhere.status_code == 400 and COOKIE not in attacker.cookies
        # The state was spent by that attempt: the right browser cannot finish it either.
        again = await victim.get(callback, follow_redirects=False)
        assert again.status_code == 400 and COOKIE not in victim.cookies


async def test_every_form_refuses_a_post_without_the_csrf_token(portal):
    officer = portal.officers[0]
    posts = sorted(path for path, methods in app_routes(portal.served.app) if "POST" in methods)
    assert "/auth/logout" in posts and "/cases" in posts
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        token = csrf_of(today.text)
        for path in posts:
            target = f"{portal.url}{path.replace('{complaint_id}', 'cmp_unknown')}"
            for data in ({}, {"csrf_token": "wrong"}, {"csrf_token": token + "x"}):
                answer = await http.post(target, data=data, follow_redirects=False)
                assert answer.status_code == 403, (path, data, answer.status_code)
        # Still signed in: a refused form changes nothing.
        assert (await http.get(f"{portal.url}/cases")).status_code == 200


# The Content-Security-Policy the portal sets, word for word: no inline script or style, scripts and the live
# stream from the portal only, no framing (issue 13, "What to build").
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# GET routes that answer without a session (every other one sends the browser to sign in).
PUBLIC = {"/", "/auth/signed-out", "/static/{name}", "/favicon.ico", "/healthz", "/readyz", "/docs", "/docs/oauth2-redirect",
          "/redoc", "/openapi.json"}


async def _records(http: httpx.AsyncClient, portal, officer, recipient, requested) -> dict[str, str]:
    """A case of ``officer``'s, a referral of it to ``recipient`` (after the victim's consent) and an MLA
    request to ``requested``, made through the portal's own forms: the ids the page walk fills in."""
    token = csrf_of((await http.get(f"{portal.url}/cases/new")).text)
    created = await http.post(f"{portal.url}/cases", follow_redirects=False, data={
        "csrf_token": token, "summary": "Detained without charge for three weeks.", "respondent_states": "FR",
        "idempotency_key": "walk-case"})
    assert created.status_code == 303, created.text
    complaint_id = created.headers["location"].split("?")[0].rsplit("/", 1)[1]
    consent = await http.post(f"{portal.url}/cases/{complaint_id}/consents", follow_redirects=False, data={
        "csrf_token": token, "purposes": "investigate", "recipient_type": "institution",
        "recipient_value": recipient.institution_id, "categories": "narrative", "channel": "in_person"})
    assert consent.status_code == 303, consent.text
    attempts = iter(range(1000))

    async def referred() -> str | None:
        # referral's directory learns the recipient from identity's events: until then, 422 recipient-unknown.
        sent = await http.post(f"{portal.url}/cases/{complaint_id}/refer", follow_redirects=False, data={
            "csrf_token": token, "recipient": recipient.institution_id, "kind": "referral",
            "purpose": "investigate", "categories": "narrative", "idempotency_key": f"walk-{next(attempts)}"})
        assert sent.status_code in (303, 422), sent.status_code
        return sent.headers["location"].split("?")[0].rsplit("/", 1)[1] if sent.status_code == 303 else None

    referral_id = await eventually(referred, timeout=30, interval=0.5)
    drafted = await http.post(f"{portal.url}/mla", follow_redirects=False, data={
        "csrf_token": token, "requested": requested.institution_id, "basis": "untoc_art18", "language": "pt",
        "complaint_id": complaint_id, "idempotency_key": "walk-mla"})
    assert drafted.status_code == 303, drafted.text
    request_id = drafted.headers["location"].split("?")[0].rsplit("/", 1)[1]
    return {"complaint_id": complaint_id, "referral_id": referral_id, "request_id": request_id}


def _walk(routes: list[str], records: dict[str, str]) -> list[tuple[str, str, bool]]:
    """Every GET route as URLs: each path parameter filled with a real record's id and with an id that is
    nobody's (its error page), each static file by its name and a file that is not served. A parameter the
    walk has no values for fails the test: a new page must join the walk."""
    from comitas_portal.web import STATIC

    values = {name: [(value, True), (f"{name}_nobodys", False)] for name, value in records.items()}
    values["name"] = [*((file, True) for file in STATIC), ("axe-core-4.14.1.min.js", False)]
    urls: list[tuple[str, str, bool]] = []
    for route in routes:
        filled = [(route, True)]
        for parameter in re.findall(r"\{(\w+)\}", route):
            assert parameter in values, f"GET {route}: the walk cannot fill {{{parameter}}}"
            filled = [(url.replace(f"{{{parameter}}}", value), found and real)
                      for url, found in filled for value, real in values[parameter]]
        urls.extend((route, url, found) for url, found in filled)
    return urls


def _expected(route: str, found: bool, signed_in: bool) -> int:
    if route == "/auth/login":
        return 303  # to identity's sign-in
    if route == "/auth/callback":
        return 400  # no code, no state: the sign-in-failed page
    if not signed_in and route not in PUBLIC:
        return 303  # to /auth/login
    return 200 if found else 404


async def test_every_page_answers_with_the_content_security_policy(portal):
    """Every GET route of the app (walked from its routes, as the CSRF test walks the POST routes), signed in
    and signed out, answers with the portal's exact Content-Security-Policy and nosniff: pages (a real case,
    its refer page, a referral, an MLA request, the lists), Today's fragment and its event stream (the first
    response's headers), static files, the error pages (a case, a referral, a request that is nobody's, a
    sign-in that failed, a path that is no route) and the redirects (to identity's sign-in, to the portal's
    sign-in, htmx's 401 with HX-Redirect)."""
    officer, recipient, requested = portal.officers[2], portal.officers[1], portal.officers[3]
    gets = sorted(path for path, methods in app_routes(portal.served.app) if "GET" in methods)
    assert {"/mla/{request_id}", "/referrals/{referral_id}", "/today/events", "/today/sections"} <= set(gets)
    seen: list[tuple[str, int]] = []

    async def check(http: httpx.AsyncClient, url: str, status: int, **headers: str) -> httpx.Headers:
        async with http.stream("GET", f"{portal.url}{url}", headers=headers, follow_redirects=False) as answer:
            assert answer.status_code == status, (url, answer.status_code)
            assert answer.headers.get("content-security-policy") == POLICY, url
            assert answer.headers.get("x-content-type-options") == "nosniff", url
            seen.append((url, status))
            return answer.headers

    async with httpx.AsyncClient(timeout=20) as http, httpx.AsyncClient(timeout=20) as anonymous:
        await sign_in(http, portal, officer)
        records = await _records(http, portal, officer, recipient, requested)
        urls = _walk(gets, records)
        for signed_in, client in ((True, http), (False, anonymous)):
            for route, url, found in urls:
                answer = await check(client, url, _expected(route, found, signed_in))
                if route == "/today/events" and signed_in:
                    assert answer["content-type"].startswith("text/event-stream")
                if route == "/auth/login":
                    assert "/oauth/authorize?" in answer["location"], url
                elif not signed_in and route not in PUBLIC | {"/auth/callback"}:
                    assert answer["location"].startswith("/auth/login?return_to=%2F"), url
            assert (await check(client, "/no/such/page", 404))["content-type"] == "application/problem+json"
        # htmx's request for Today's fragment without a session: 401, told where to go.
        told = await check(anonymous, "/today/sections", 401, **{"HX-Request": "true",
                                                                 "HX-Current-URL": f"{portal.url}/cases"})
        assert told["hx-redirect"] == "/auth/login?return_to=%2Fcases"
    assert len(seen) == 2 * len(urls) + 3
    assert (f"/referrals/{records['referral_id']}", 200) in seen and (f"/mla/{records['request_id']}", 200) in seen


async def test_an_officer_of_another_institution_gets_404_on_a_case(portal):
    first, second = portal.officers[:2]
    async with httpx.AsyncClient(timeout=20) as a, httpx.AsyncClient(timeout=20) as b:
        today = await sign_in(a, portal, first)
        created = await a.post(f"{portal.url}/cases", data={
            "csrf_token": csrf_of(today.text), "summary": "Held incommunicado for a week.",
            "respondent_states": "FR", "idempotency_key": "tenancy-1"}, follow_redirects=False)
        assert created.status_code == 303, created.text
        case_url = created.headers["location"].split("?")[0]
        assert (await a.get(f"{portal.url}{case_url}")).status_code == 200
        await sign_in(b, portal, second)
        other = await b.get(f"{portal.url}{case_url}")
        assert other.status_code == 404
        assert "Held incommunicado" not in other.text
        # Ids that try to reach another path of a service are not found either.
        for crafted in ("..%2F..%2Fv1%2Finbox", "x%3Fcursor%3D1", "%2E%2E"):
            assert (await b.get(f"{portal.url}/cases/{crafted}")).status_code == 404, crafted
        # The language form goes back to a page of the portal only.
        token = csrf_of((await b.get(f"{portal.url}/cases")).text)
        for back in ("https://evil.example", "//evil.example", "/\\evil.example"):
            moved = await b.post(f"{portal.url}/settings/language", follow_redirects=False,
                                 data={"csrf_token": token, "language": "en", "back": back})
            assert moved.headers["location"] == "/", back


def test_the_session_cookie_is_secure_outside_development():
    assert PortalSettings(environment="test", public_url="https://portal.example.org").secure_cookie
    assert not PortalSettings(environment="development", public_url="http://127.0.0.1:8080").secure_cookie
    with pytest.raises(ValueError):
        PortalSettings(environment="production", public_url="http://portal.example.org",
                       master_key="k" * 44, issuer="https://id.example.org")
    assert create_app  # the composition root imports


async def test_an_expired_token_that_cannot_be_refreshed_sends_the_officer_to_sign_in_again_and_back(portal):
    """When the session's token has expired and identity refuses the refresh (here the refresh token was
    revoked; as well an officer disabled, or the family past its end) the officer signs in again and
    lands on the page asked for; the old session ends."""
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as http:
        await sign_in(http, portal, officer)
        old = http.cookies.get(COOKIE)
        _, tokens = await session_row(portal, old)
        revoked = await identity_form(http, portal, "/oauth/revoke", token=tokens["refresh_token"])
        assert revoked.status_code == 200
        await expire_token(portal, old)
        again = await http.get(f"{portal.url}/cases?q=FR", follow_redirects=False)
        assert again.status_code == 303
        assert again.headers["location"] == "/auth/login?return_to=%2Fcases%3Fq%3DFR"
        back = await sign_in(http, portal, officer, return_to="/cases?q=FR")
        assert back.status_code == 200 and str(back.url).endswith("/cases?q=FR")
        assert http.cookies.get(COOKIE) != old
        replayed = await http.get(f"{portal.url}/cases", cookies={COOKIE: old}, follow_redirects=False)
        assert replayed.status_code == 303
