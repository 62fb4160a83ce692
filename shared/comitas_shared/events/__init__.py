"""Events: the CloudEvents envelope, the typed catalogue, the outbox and its relay, idempotent consumers."""

from .catalogue import CATALOGUE, EventType, event_type_for
from .envelope import CloudEvent, new_event_id

__all__ = ["CATALOGUE", "CloudEvent", "EventType", "event_type_for", "new_event_id"]
