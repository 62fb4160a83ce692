"""What intake tells about disclosures: consent withdrawn, a complaint erased. The referrals resting on
them are marked, their recipients (and senders) told by event and by a notice in the thread; the
recipient's next read of the packet fails at intake anyway."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId
from comitas_shared.events.catalogue import (
    COMPLAINT_ERASED,
    CONSENT_WITHDRAWN,
    ComplaintErased,
    ConsentWithdrawn,
)
from comitas_shared.events.consumer import EventConsumer, EventDispatcher, event_consumer
from comitas_shared.events.envelope import CloudEvent

from ..referrals import service as referrals
from . import service

DISCLOSURES_CONSUMER = "referral-disclosures"


def disclosures_consumer(platform: Platform, ctx: referrals.Ctx) -> EventConsumer:
    async def withdrawn(session: AsyncSession, data: ConsentWithdrawn, event: CloudEvent) -> None:
        grants = [g for recipient in data.recipients for g in recipient.grant_ids]
        if not grants:
            return
        now = platform.clock()
        for row in await referrals.disclosure_revoked(session, ctx, sender=InstitutionId(data.institution_id),
                                                      grant_ids=grants, complaint_id=None,
                                                      cause="consent_withdrawn", now=now):
            await service.notice(session, referral=row, cause="consent_withdrawn", now=now)

    async def erased(session: AsyncSession, data: ComplaintErased, event: CloudEvent) -> None:
        now = platform.clock()
        for row in await referrals.disclosure_revoked(session, ctx, sender=InstitutionId(data.institution_id),
                                                      grant_ids=[], complaint_id=data.complaint_id,
                                                      cause="complaint_erased", now=now):
            await service.notice(session, referral=row, cause="complaint_erased", now=now)

    dispatcher = EventDispatcher().on(CONSENT_WITHDRAWN, withdrawn).on(COMPLAINT_ERASED, erased)
    return event_consumer(name=DISCLOSURES_CONSUMER, dispatcher=dispatcher, database=platform.database,
                          tables=platform.tables, nats=platform.nats)
