"""The e-mail channel: one message per delivery (one event, or a digest), to the institution's own
notification addresses from the directory (or the one of them the subscription chose), in its
language and time zone.

Only institutions' addresses are ever written to: they come from identity's directory, and an address
a subscription names must be one of them (checked when it is set and again before each attempt). No
address of a victim or of anyone else can be entered.

The ``Message-ID`` is ``<delivery id>@<domain>``: the same on every attempt and every redelivery, so a
message sent again after a crash (the worker stopped between the server's acceptance and recording it)
is recognisably the same message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.clock import real_now

from ..directory import service as directory
from ..directory.schemas import ProfileDefaults, Recipient
from ..email import (
    LANGUAGES,
    Composed,
    DigestEntry,
    Reader,
    SmtpConfig,
    SmtpSender,
    domain_of,
    message_id_for,
    render_digest,
    render_event,
    to_message,
)
from ..settings import NotificationsSettings
from .channels import Job, Outcome, Unsendable
from .domain import Channel, DeliveryKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    message: EmailMessage
    recipients: list[str]
    composed: Composed


def profile_defaults(settings: NotificationsSettings) -> ProfileDefaults:
    return ProfileDefaults(supported_languages=LANGUAGES, language=settings.email_default_language,
                           time_zone=settings.digest_default_time_zone)


def smtp_config(settings: NotificationsSettings) -> SmtpConfig:
    return SmtpConfig(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                      username=settings.smtp_username,
                      password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                      timeout=settings.smtp_timeout_seconds, sender=settings.email_from)


def compose(job: Job, recipient: Recipient) -> Composed:
    reader = Reader(language=recipient.language, time_zone=recipient.time_zone, institution_name=recipient.name)
    if job.kind == DeliveryKind.DIGEST and job.period is not None:
        entries = [DigestEntry(event_type=e.type, subject=e.subject, data=e.data, at=e.time) for e in job.events]
        return render_digest(entries=entries, start=job.period.start, end=job.period.end, reader=reader,
                             subscription_id=job.subscription_id)
    [event] = job.events
    return render_event(event_type=event.type, subject=event.subject, data=event.data, at=event.time, reader=reader,
                        subscription_id=job.subscription_id)


class EmailChannel:
    name = Channel.EMAIL.value

    def __init__(self, settings: NotificationsSettings, *, sender: SmtpSender | None = None) -> None:
        self.settings = settings
        self.defaults = profile_defaults(settings)
        self.sender = sender or SmtpSender(smtp_config(settings))
        self.domain = settings.email_message_id_domain or domain_of(settings.email_from)

    def message_id(self, delivery_id: str) -> str:
        return message_id_for(delivery_id, self.domain)

    async def recipients(self, session: AsyncSession, job: Job) -> tuple[Recipient, list[str], str | None]:
        recipient = await directory.recipient(session, institution_id=job.institution_id, defaults=self.defaults)
        addresses, why = directory.email_recipients(job.target.email_address, recipient.addresses)
        return recipient, addresses, why

    async def prepare(self, session: AsyncSession, job: Job) -> Mail | Unsendable:
        recipient, addresses, why = await self.recipients(session, job)
        if why is not None:
            # A chosen address the directory no longer lists will not come back by waiting: failed. No
            # address at all may be a contact not read yet: retried.
            return Unsendable(why, permanent=job.target.email_address is not None and recipient.contact_known)
        try:
            composed = compose(job, recipient)
        except Exception as exc:  # noqa: BLE001 - a message that cannot be written will not be by waiting
            log.exception("e-mail: delivery %s cannot be rendered", job.delivery_id)
            return Unsendable(f"the message could not be written: {type(exc).__name__}: {exc}", permanent=True)
        # Date: the wall clock, like a webhook's timestamp (mail systems compare it with their own).
        message = to_message(composed, sender=self.settings.email_from, recipients=addresses,
                             message_id=self.message_id(job.delivery_id), sent_at=real_now(),
                             delivery_id=job.delivery_id)
        return Mail(message=message, recipients=addresses, composed=composed)

    async def send(self, prepared: Mail) -> Outcome:
        result = await self.sender.send(prepared.message, prepared.recipients)
        return Outcome(succeeded=result.delivered, status_code=result.code, error=result.error,
                       permanent=result.permanent)

    async def close(self) -> None:
        return None
