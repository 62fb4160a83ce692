"""Sends one message over SMTP (aiosmtplib) and says what became of it.

SMTP tells temporary refusals (4xx: try again later) from permanent ones (5xx: do not) within the
session (RFC 5321 §4.2.1); the delivery worker retries the first like a webhook that failed, and marks
the second failed. A server that cannot be reached, or drops the line, is temporary. Bounces that come
back later by mail are out of scope: the sender's own server accepting the message is "delivered".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal

import aiosmtplib


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
    permanent: bool = False


def _is_permanent(code: int | None) -> bool:
    return code is not None and 500 <= code < 600


def _text(message: str) -> str:
    # On one line; the delivery worker cuts what it records to its length.
    return " ".join(str(message).split())


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage, recipients: Sequence[str]) -> SmtpOutcome:
        config = self.config
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
            return SmtpOutcome(False, code, _text(f"recipients refused: {detail}"),
                               permanent=all(_is_permanent(c) for c in codes))
        except aiosmtplib.SMTPResponseException as exc:
            # The server answered with a refusal (sender, data, authentication, greeting…).
            return SmtpOutcome(False, exc.code, _text(f"the SMTP server answered {exc.code}: {exc.message}"),
                               permanent=_is_permanent(exc.code))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Not reachable, dropped the line, timed out, TLS failed: try again later.
            return SmtpOutcome(False, None, _text(f"{type(exc).__name__}: {exc}"))
        code = int(reply.split(" ", 1)[0]) if reply[:3].isdigit() else 250
        if refused:
            # Accepted for some: delivered to those; the others are named in the log.
            detail = "; ".join(f"{r}: {resp.code} {_text(resp.message)}" for r, resp in refused.items())
            return SmtpOutcome(True, code, _text(f"refused for some recipients: {detail}"))
        return SmtpOutcome(True, code, None)
