"""Password hashing with scrypt from the standard library (RFC 7914). The parameters are stored with
each hash, so they can be raised later without invalidating existing passwords."""

from __future__ import annotations

import base64
import hashlib
import hmac

from comitas_shared.randomness import token_bytes

# 32 MiB and roughly 0.1 s per hash: costly to guess offline, affordable per sign-in.
_N, _R, _P, _LENGTH = 2**15, 8, 1, 32
_MAXMEM = 2**26
MIN_PASSWORD_LENGTH = 12


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    salt = token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LENGTH, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected), maxmem=_MAXMEM)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the e-mail is unknown, so that a wrong e-mail takes as long as a wrong password.
DUMMY_HASH = hash_password("not-a-password-of-anyone")
