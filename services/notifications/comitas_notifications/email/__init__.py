"""E-mail: messages in the reader's language and time zone (``render``, with the catalogues of
``catalogue``), and sending them over SMTP (``smtp``). A library of the service with no tables and no
routes: the deliveries' e-mail channel uses what this package exports."""

from .catalogue import LANGUAGES, translations
from .render import (
    Composed,
    DigestEntry,
    Reader,
    domain_of,
    message_id_for,
    render_digest,
    render_event,
    to_message,
)
from .smtp import SmtpConfig, SmtpOutcome, SmtpSender

__all__ = [
    "LANGUAGES", "Composed", "DigestEntry", "Reader", "SmtpConfig", "SmtpOutcome", "SmtpSender", "domain_of",
    "message_id_for", "render_digest", "render_event", "to_message", "translations",
]
