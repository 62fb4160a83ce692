"""Intake's own consumer of ``comitas.complaint.submitted``: the possible duplicates and the pattern cases
of each new complaint, found after its submission's request rather than inside it (ADR 0015, revised).

The submission commits the complaint and its event together (outbox), so every complaint is indexed
once the event is delivered, even if the process dies in between. A batch of events is one
transaction with its inbox rows; indexing is a replacement from the stored complaint, so running it
twice (a redelivery, another replica) changes nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.events.catalogue import COMPLAINT_SUBMITTED, ComplaintSubmitted
from comitas_shared.events.consumer import DurableConsumer, EventConsumer, decode_cloudevent, typed_payload
from comitas_shared.events.envelope import CloudEvent

from ..protection.service import KeyRing
from . import service

INDEXING_CONSUMER = "intake-complaint-indexing"
# Events per transaction when submissions come faster than they are indexed: one lock, one commit.
INDEXING_BATCH = 50


def submitted_complaints(events: list[CloudEvent]) -> list[tuple[InstitutionId, str]]:
    """(institution, complaint) of each readable event; one that does not validate never will (skipped)."""
    found = []
    for event in events:
        data = typed_payload(event, ComplaintSubmitted)
        if data is None:
            continue
        # The event is intake's own, from its outbox: the institution it names submitted the complaint.
        found.append((institution_id_for_system(data.institution_id), data.complaint_id))
    return found


def indexing_consumer(platform: Platform, keyring: KeyRing) -> EventConsumer:
    async def index(session: AsyncSession, events: list[CloudEvent]) -> None:
        await service.index_submitted(session, keyring, complaints=submitted_complaints(events), now=platform.clock())

    return DurableConsumer(name=INDEXING_CONSUMER, subjects=[COMPLAINT_SUBMITTED.subject], decode=decode_cloudevent,
                           batch_handler=index, batch=INDEXING_BATCH, database=platform.database,
                           tables=platform.tables, nats=platform.nats)
