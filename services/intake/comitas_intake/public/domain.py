"""The public channel's pure decisions: receipt codes, signed form tokens and proof-of-work challenges,
and the status in plain language. Values and an explicit time in; nothing is read from the world here
(the random parts of a code, a nonce or a salt are given).

A receipt code is shown once. It is kept only as (a) a keyed deterministic digest (HMAC-SHA-256 under
a key derived from the blind-index secret, so a master-key rotation does not lose it) that finds the
row, and (b) a slow hash (scrypt, random salt) verified after the lookup: a copy of the database alone
lets nobody test guesses quickly, and nothing stored can be shown back as the code.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from comitas_shared.errors import InvalidInput

# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 24  # 120 bits
GROUP = 4
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")

SCRYPT_R, SCRYPT_P = 8, 1


def format_code(symbols: str) -> str:
    """``symbols`` (CODE_LENGTH characters of ALPHABET) in groups of four: ``7K3M-…``."""
    return "-".join(symbols[i:i + GROUP] for i in range(0, len(symbols), GROUP))


def normalise_code(text: str) -> str | None:
    """The code's symbols as typed in any case, with or without separators, O for 0 and I or L for 1;
    None when it cannot be a code (so no digest, no slow hash, no database read is spent on it)."""
    symbols = _SEPARATORS.sub("", text.strip().upper()).translate(_CONFUSABLE)
    if len(symbols) != CODE_LENGTH or any(c not in ALPHABET for c in symbols):
        return None
    return symbols


def lookup_digest(key: bytes, symbols: str) -> str:
    """What finds a receipt: deterministic under a secret key, useless without it."""
    return hmac.new(key, b"receipt/v1\x1f" + symbols.encode(), hashlib.sha256).hexdigest()


def slow_hash(symbols: str, salt: bytes, *, log_n: int) -> bytes:
    return hashlib.scrypt(symbols.encode(), salt=salt, n=2 ** log_n, r=SCRYPT_R, p=SCRYPT_P, dklen=32,
                          maxmem=2 ** log_n * SCRYPT_R * 128 * 2)


def verify_slow_hash(symbols: str, salt: bytes, expected: bytes, *, log_n: int) -> bool:
    return hmac.compare_digest(slow_hash(symbols, salt, log_n=log_n), expected)


# --- signed tokens (the form's timing nonce, proof-of-work challenges) ----------------------------------


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def sign(key: bytes, kind: str, *parts: str) -> str:
    body = ".".join((kind, *parts))
    return f"{body}.{_mac(key, body)}"


def unsign(key: bytes, kind: str, token: str, parts: int) -> list[str] | None:
    """The parts of a token of ``kind`` signed with ``key``, or None (forged, mangled, other kind)."""
    pieces = token.split(".")
    if len(pieces) != parts + 2 or pieces[0] != kind:
        return None
    body, mac = ".".join(pieces[:-1]), pieces[-1]
    if not hmac.compare_digest(_mac(key, body), mac):
        return None
    return pieces[1:-1]


def _refused(detail: str, pointer: str, slug: str = "submission-refused") -> InvalidInput:
    return InvalidInput(detail, slug=slug, title="Submission refused", errors=[{"detail": detail, "pointer": pointer}])


@dataclass(frozen=True)
class FormCheck:
    nonce: str


def form_token(key: bytes, *, nonce: str, issued_at: datetime) -> str:
    # Milliseconds: whole seconds would floor the issue time and let a form through up to a second early.
    return sign(key, "form2", str(int(issued_at.timestamp() * 1000)), nonce)


def check_form(key: bytes, *, token: str, honeypot: str, now: datetime, min_seconds: float,
               max_seconds: float) -> FormCheck:
    """The no-JavaScript form's abuse check: the hidden field a person never sees stays empty, and the
    form comes back neither sooner than a person could fill it in nor after it went stale."""
    if honeypot.strip():
        raise _refused("the form was not filled in by a person", "/website")
    parts = unsign(key, "form2", token, 2)
    if parts is None or not parts[0].isdigit():
        raise _refused("the form is not one this service served; load it again", "/form_token")
    age = now.timestamp() - int(parts[0]) / 1000
    if age < min_seconds:
        raise _refused("the form came back too quickly to have been filled in by a person", "/form_token")
    if age > max_seconds:
        raise _refused("the form is too old; load it again", "/form_token")
    return FormCheck(nonce=parts[1])


def upload_token(key: bytes, *, complaint_id: str, issued_at: datetime) -> str:
    """The evidence form's CSRF token: signed for one complaint (which it does not show) at a time."""
    issued = str(int(issued_at.timestamp() * 1000))
    return f"upload1.{issued}.{_mac(key, f'upload1.{complaint_id}.{issued}')}"


def check_upload_token(key: bytes, *, token: str, complaint_id: str, now: datetime, max_seconds: float) -> None:
    """Refuses a file sent without the token of a page this service served for this complaint, or with
    one older than ``max_seconds``: another site cannot make a person's browser post a file here."""
    pieces = token.split(".")
    if len(pieces) != 3 or pieces[0] != "upload1" or not pieces[1].isdigit() or not hmac.compare_digest(
            _mac(key, f"upload1.{complaint_id}.{pieces[1]}"), pieces[2]):
        raise _refused("the page you sent the file from is not one this service served; open your complaint "
                       "again with your receipt code and send the file from there", "/form_token",
                       "upload-refused")
    if now.timestamp() - int(pieces[1]) / 1000 > max_seconds:
        raise _refused("the page you sent the file from is too old; open your complaint again with your "
                       "receipt code and send the file from there", "/form_token", "upload-refused")


def challenge_token(key: bytes, *, nonce: str, bits: int, expires_at: datetime) -> str:
    return sign(key, "pow1", str(bits), str(int(expires_at.timestamp())), nonce)


def leading_zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def solves(challenge: str, nonce: str, bits: int) -> bool:
    """SHA-256 of ``challenge:nonce`` starts with ``bits`` zero bits."""
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) >= bits


def solve(challenge: str, bits: int) -> str:
    """A nonce for ``challenge`` (what a client's JavaScript does; used by tests and the CLI)."""
    n = 0
    while not solves(challenge, str(n), bits):
        n += 1
    return str(n)


def check_proof(key: bytes, *, challenge: str, nonce: str, now: datetime, min_bits: int) -> str:
    """The challenge's own nonce (spent once by the caller) when the proof holds; refused otherwise."""
    parts = unsign(key, "pow1", challenge, 3)
    if parts is None or not parts[0].isdigit() or not parts[1].isdigit():
        raise _refused("the challenge is not one this service issued (GET /v1/public/challenge)",
                       "/proof_of_work/challenge", "proof-of-work-refused")
    bits, expires = int(parts[0]), int(parts[1])
    if bits < min_bits:
        raise _refused("the challenge is easier than this service asks now", "/proof_of_work/challenge",
                       "proof-of-work-refused")
    if now.timestamp() > expires:
        raise _refused("the challenge has expired; ask for a new one", "/proof_of_work/challenge",
                       "proof-of-work-refused")
    if len(nonce) > 64 or not solves(challenge, nonce, bits):
        raise _refused(f"SHA-256 of challenge:nonce does not start with {bits} zero bits", "/proof_of_work/nonce",
                       "proof-of-work-refused")
    return parts[2]


# --- what the person is told -------------------------------------------------------------------------

PLAIN_STATUS: dict[str, tuple[str, str]] = {
    "received": ("Received", "Your complaint has arrived and is waiting to be read by the institution. "
                             "Nothing is needed from you now."),
    "under_assessment": ("Being looked at", "The institution is studying your complaint to see what can be done "
                                            "and where it could be taken."),
    "active": ("Being acted on", "The institution has taken up your complaint and is working on it. It may send "
                                 "you a message here."),
    "closed": ("Closed", "The institution has finished its work on this complaint. Read its messages for the "
                         "reasons; you can still write to it here."),
    "withdrawn": ("Withdrawn", "This complaint was withdrawn."),
    "transferred": ("Passed on", "As you agreed, your complaint was passed on to another institution, which now "
                                 "handles it. Your receipt code keeps working."),
}
# Said first when the case was passed on: what happened, never what was shared or with whom, so the page
# names nothing the person did not agree to share (nor who holds it: the code alone opens this page).
PASSED_ON = ("As you agreed, your complaint was passed on to another institution, which now handles it. What "
             "you read here comes from that institution; your receipt code keeps working, and your messages "
             "and files now reach it.")


def plain_status(status: str, *, transferred: bool = False) -> tuple[str, str]:
    """A short label and a sentence a person can read, for a complaint's status (after a transfer, the
    status where the case is now, said after the fact that it was passed on)."""
    label, text = PLAIN_STATUS.get(status, ("Received", PLAIN_STATUS["received"][1]))
    return (label, f"{PASSED_ON} {text}") if transferred else (label, text)
