"""Which events go to which institution's feed, and what of them: pure decisions (ADR 0033).

An event goes to the feed of every institution it concerns, only if the catalogue lets institutions see
its type (``external``). What travels is the producer's event, minimised once more here:

- ``concerns`` is left out: one institution must not learn which others an event concerned (a
  confidential MLA request's event names no institution at all, and must stay that way on a feed);
- ``data`` keeps only the fields its catalogue type declares, so a field a producer adds without
  declaring it (and without the review a catalogue change gets) never reaches another institution.

The producers already leave out what an institution may not see (victims' identities never travel in
events; a confidential MLA request's events carry only its id and state); the feed adds no facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from comitas_shared.errors import InvalidInput
from comitas_shared.events.catalogue import CATALOGUE
from comitas_shared.events.envelope import TYPE_PREFIX, CloudEvent
from comitas_shared.nats_auth.platform import FEED_SUBJECT_PREFIX, usable_institution_id


@dataclass(frozen=True)
class FeedMessage:
    institution_id: str
    subject: str
    # Unique per event and institution: JetStream's duplicate window drops a second publish of it.
    message_id: str
    event: CloudEvent

    def headers(self) -> dict[str, str]:
        headers = self.event.nats_headers()
        headers["Nats-Msg-Id"] = self.message_id
        return headers

    def body(self) -> bytes:
        return self.event.nats_body()


def feed_subject(institution_id: str, event_type: str) -> str:
    """``comitas.mla.issued`` for institution X travels on ``feed.X.mla.issued``."""
    return f"{FEED_SUBJECT_PREFIX}.{institution_id}.{event_type.removeprefix(TYPE_PREFIX)}"


def on_feeds(event_type: str) -> bool:
    entry = CATALOGUE.get(event_type)
    return entry is not None and entry.external


def minimised(event: CloudEvent) -> CloudEvent:
    entry = CATALOGUE[event.type]
    declared = entry.data.model_fields.keys()
    data: dict[str, Any] = {name: value for name, value in event.data.items() if name in declared}
    return event.model_copy(update={"concerns": (), "data": data})


def feed_messages(event: CloudEvent) -> list[FeedMessage]:
    """What ``event`` puts on feeds: one message per concerned institution, or none."""
    if not on_feeds(event.type):
        return []
    shown = minimised(event)
    return [FeedMessage(institution_id=institution, subject=feed_subject(institution, event.type),
                        message_id=f"{event.id}:{institution}", event=shown)
            for institution in dict.fromkeys(event.concerned_institutions) if usable_institution_id(institution)]


def credentials_expiry(now: datetime, *, days: int) -> datetime:
    """Subscribers' credentials expire: a leaked file stops working on its own."""
    return now + timedelta(days=days)


def replay_start(since: datetime, *, now: datetime, retention_days: int) -> datetime:
    """The instant a replay starts from: an explicit instant in the past. One older than what the stream
    holds starts at its oldest event (said, not refused: the subscriber wants all that is left)."""
    if since.tzinfo is None:
        raise InvalidInput("since must carry its offset (an instant, such as 2026-01-31T09:00:00Z)", slug="naive-time")
    if since > now:
        raise InvalidInput("a replay starts in the past", slug="replay-in-the-future")
    return max(since, now - timedelta(days=retention_days))
