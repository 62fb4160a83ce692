"""The thread between the two sides of a referral: messages (attested by receipts, announced by their
hash) and the platform's own notices (a disclosure gone: consent withdrawn, the complaint erased)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.canonical import canonical_json
from comitas_shared.errors import InvalidTransition
from comitas_shared.events.envelope import new_event_id
from comitas_shared.pagination import Page, PageRequest

from ..referrals import service as referrals
from . import repository
from .models import Message
from .schemas import Attachment, MessageOut

NOTICES = {
    "consent_withdrawn": "The victim withdrew the consent this referral's disclosure rested on: the packet can no "
                         "longer be read at intake, and what was read must not be used further for this purpose.",
    "complaint_erased": "The complaint was erased at the victim's request: the packet can no longer be read at "
                        "intake (its key is destroyed).",
}


def message_hash(body: str, attachments: list[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical_json({"body": body, "attachments": attachments})).hexdigest()


def to_out(row: Message) -> MessageOut:
    return MessageOut(id=row.id, referral_id=row.referral_id, author=row.author, body=row.body,  # type: ignore[arg-type]
                      attachments=[Attachment.model_validate(a) for a in row.attachments], answers=row.answers,
                      message_hash=row.message_hash, posted_at=row.posted_at)


async def post(session: AsyncSession, ctx: referrals.Ctx, *, actor: InstitutionId, referral_id: str, body: str,
               attachments: list[Attachment], answers: str | None, now: datetime,
               referral: referrals.Referral | None = None) -> MessageOut:
    """A side's message; one that ``answers`` an open request for information is the sender's answer to
    it (the response period runs again once none is open). ``referral``: the referral ``referral_id``
    names, when the caller has just read it as ``actor`` in this transaction."""
    if referral is None:
        referral = await referrals.visible_referral(session, actor, referral_id)
    side = referrals.check_can_post(referral, actor)
    if answers is not None and side.value != "sender":
        raise InvalidTransition("only the sending institution answers a request for information",
                                slug="not-this-sides-action", title="Not this side's action").as_problem()
    files = [a.model_dump(mode="json", exclude_none=True) for a in attachments]
    digest = message_hash(body, files)
    row = Message(id=new_event_id(), referral_id=referral.id, sender_institution_id=referral.sender_institution_id,
                  recipient_institution_id=referral.recipient_institution_id, author=side.value,
                  author_institution_id=actor, body=body, attachments=files, answers=answers, message_hash=digest,
                  posted_at=now)
    await repository.add(session, row)
    if answers is not None:
        await referrals.provide_information(session, ctx, actor=actor, row=referral,
                                            information_request_id=answers, message_id=row.id, message_hash=digest,
                                            now=now)
    else:
        await referrals.message_posted(session, ctx, actor=actor, row=referral, message_id=row.id,
                                       message_hash=digest, now=now)
    return to_out(row)


async def notice(session: AsyncSession, *, referral: Any, cause: str, now: datetime) -> None:
    """The platform's own message in the thread (no receipt: nothing is handed over)."""
    text = NOTICES[cause]
    await repository.add(session, Message(
        id=new_event_id(), referral_id=referral.id, sender_institution_id=referral.sender_institution_id,
        recipient_institution_id=referral.recipient_institution_id, author="system", body=text, attachments=[],
        message_hash=message_hash(text, []), posted_at=now))


async def list_messages(session: AsyncSession, *, viewer: InstitutionId, referral_id: str,
                        page: PageRequest) -> Page[MessageOut]:
    await referrals.visible_referral(session, viewer, referral_id)
    rows = await repository.page(session, viewer, referral_id, page)
    return repository.OLDEST_FIRST.cut(rows, page, to_out)
