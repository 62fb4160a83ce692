"""Sends one message over SMTP (aiosmtplib) and says what became of it.

SMTP tells temporary refusals (4xx: try again later) from permanent ones (5xx: do not) within the
session (RFC 5321 §4.2.1); the delivery worker retries the first like a webhook that failed, and marks
the second failed. A server that cannot be reached, or drops the line, is temporary. Bounces that come
back later by mail are out of scope: the sender's own server accepting the message is "delivered".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal

import aiosmtplib

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None
    password: str | None
    timeout: float
    sender: str


@dataclass(frozen=True)
class SmtpOutcome:
    """``code``: the server's reply code, if one came; ``permanent``: do not try again."""

    delivered: bool
    code: int | None
    error: str | None
    permanent: bool
    duration_ms: int


def _is_permanent(code: int | None) -> bool:
    return code is not None and 500 <= code < 600


def _text(message: str) -> str:
    return " ".join(str(message).split())[:MAX_ERROR_LENGTH]


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage, recipients: Sequence[str]) -> SmtpOutcome:
        config = self.config
        started = time.monotonic()

        def outcome(delivered: bool, code: int | None, error: str | None, permanent: bool = False) -> SmtpOutcome:
            return SmtpOutcome(delivered=delivered, code=code, error=error, permanent=permanent,
                               duration_ms=int((time.monotonic() - started) * 1000))

        try:
            refused, reply = await aiosmtplib.send(
                message, sender=parseaddr(config.sender)[1], recipients=list(recipients), hostname=config.host,
                port=config.port, username=config.username, password=config.password, timeout=config.timeout,
                use_tls=config.security == "tls", start_tls=config.security == "starttls")
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused: temporary if any of them may be tried again.
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {_text(r.message)}" for r in exc.recipients)
            code = next((c for c in codes if not _is_permanent(c)), codes[0] if codes else None)
            return outcome(False, code, _text(f"recipients refused: {detail}"),
                           permanent=all(_is_permanent(c) for c in codes))
        except aiosmtplib.SMTPResponseException as exc:
            # The server answered with a refusal (sender, data, authentication, greeting…).
            return outcome(False, exc.code, _text(f"the SMTP server answered {exc.code}: {exc.message}"),
                           permanent=_is_permanent(exc.code))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Not reachable, dropped the line, timed out, TLS failed: try again later.
            return outcome(False, None, _text(f"{type(exc).__name__}: {exc}"))
        code = int(reply.split(" ", 1)[0]) if reply[:3].isdigit() else 250
        if refused:
            # Accepted for some: delivered to those; the others are named in the log.
            detail = "; ".join(f"{r}: {resp.code} {_text(resp.message)}" for r, resp in refused.items())
            return outcome(True, code, _text(f"refused for some recipients: {detail}"))
        return outcome(True, code, None)
