"""Intake's own consumer of ``comitas.complaint.submitted``: the possible duplicates and the pattern cases
of each new complaint, found after its submission's request rather than inside it (ADR 0015, revised).

The submission commits the complaint and its event together (outbox), so every complaint is indexed
once the event is delivered, even if the process dies in between. A batch of events is one
transaction with its inbox rows; indexing is a replacement from the stored complaint, so running it
twice (a redelivery, another replica) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.events.catalogue import COMPLAINT_SUBMITTED, ComplaintSubmitted
from comitas_shared.events.consumer import BatchDispatcher, EventConsumer, batch_event_consumer
from comitas_shared.events.envelope import CloudEvent

from ..protection.service import KeyRing
from . import service

INDEXING_CONSUMER = "intake-complaint-indexing"
# Events per transaction when submissions come faster than they are indexed: one lock, one commit.
INDEXING_BATCH = 50


@dataclass
class _Submitted:
    session: AsyncSession
    complaints: list[tuple[InstitutionId, str]] = field(default_factory=list)


def _submitted(batch: _Submitted, data: ComplaintSubmitted, event: CloudEvent) -> None:
    # The event is intake's own, from its outbox: the institution it names submitted the complaint.
    batch.complaints.append((institution_id_for_system(data.institution_id), data.complaint_id))


def indexing_consumer(platform: Platform, keyring: KeyRing) -> EventConsumer:
    async def prepare(session: AsyncSession, typed: list[tuple[CloudEvent, object]]) -> _Submitted:
        return _Submitted(session)

    async def index(batch: _Submitted) -> None:
        await service.index_submitted(batch.session, keyring, complaints=batch.complaints, now=platform.clock())

    dispatcher = BatchDispatcher(prepare, index).on(COMPLAINT_SUBMITTED, _submitted)
    return batch_event_consumer(name=INDEXING_CONSUMER, dispatcher=dispatcher, batch=INDEXING_BATCH,
                                database=platform.database, tables=platform.tables, nats=platform.nats)
