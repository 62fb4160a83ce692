"""The sign-in form's CSRF token: an HMAC, under a key derived from the master key, over a random
per-browser secret (kept in a cookie) and the authorization request the form carries.

A forged POST cannot carry it: another site can neither read the cookie nor compute the HMAC, so it
cannot sign a victim's browser in to the forger's account (login CSRF), and a token lifted from one
form does not fit another request's parameters. No server state is needed: any replica checks it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from comitas_shared import randomness

COOKIE = "comitas_signin"
FIELD = "csrf_token"
COOKIE_MAX_AGE = 3600
_MIN_SECRET_LENGTH = 32


def form_key(master_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-identity",
                info=b"sign-in-form-csrf").derive(master_key.encode())


def new_browser_secret() -> str:
    return randomness.token_urlsafe(32)


def usable_browser_secret(value: str | None) -> bool:
    return value is not None and len(value) >= _MIN_SECRET_LENGTH and value.isascii()


def form_token(key: bytes, browser_secret: str, parameters: list[tuple[str, str]]) -> str:
    message = json.dumps([browser_secret, sorted(parameters)], separators=(",", ":")).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_matches(key: bytes, browser_secret: str | None, parameters: list[tuple[str, str]],
                  token: str | None) -> bool:
    if not usable_browser_secret(browser_secret) or not token:
        return False
    expected = form_token(key, browser_secret or "", parameters)
    return hmac.compare_digest(expected.encode(), token.encode())
