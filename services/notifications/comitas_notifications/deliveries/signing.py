"""Standard Webhooks signatures: ``v1,`` + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}"))."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from comitas_shared.clock import real_timestamp
from comitas_shared.events.envelope import STRUCTURED_CONTENT_TYPE

from ..signing_secrets import signing_key

# Standard Webhooks' replay window, in both directions: an old request replayed, or one stamped by a
# sender whose clock runs ahead, is refused alike (the reference libraries use five minutes too).
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    return "v1," + base64.b64encode(_digest(secret, message_id, str(timestamp), body)).decode()


def _digest(secret: str, message_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return hmac.new(signing_key(secret), signed, hashlib.sha256).digest()


def webhook_headers(secret: str, message_id: str, timestamp: int, body: bytes, *,
                    content_type: str | None = None) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        # The body is a CloudEvent in structured mode (HTTP protocol binding §3.2), or a batch of them.
        "content-type": content_type or STRUCTURED_CONTENT_TYPE,
    }


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None,
           tolerance_seconds: int = TIMESTAMP_TOLERANCE_SECONDS) -> bool:
    """What a receiver does; here for tests and for the documentation of the format. A valid signature
    on a timestamp outside the tolerance is still refused: without that check a captured request could
    be replayed for ever."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        message_id, stamp, signatures = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
        timestamp = int(stamp)
    except (KeyError, ValueError):
        return False
    current = real_timestamp() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    # Signed over the header exactly as sent, not over the number it parses to.
    expected = _digest(secret, message_id, stamp, body)
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            offered = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(expected, offered):
            return True
    return False
