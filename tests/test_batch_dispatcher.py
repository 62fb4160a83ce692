"""``BatchDispatcher``: catalogue events of a fetched batch to typed handlers, in one transaction (the
deadlines and complaint-indexing consumers; ``comitas_shared.events.consumer``). No NATS or database is
needed to show the routing: the session is whatever the consumer hands over."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from comitas_shared.errors import InvalidInput
from comitas_shared.events.catalogue import (
    COMPLAINT_ERASED,
    COMPLAINT_SUBMITTED,
    ComplaintErased,
    ComplaintSubmitted,
)
from comitas_shared.events.consumer import BatchDispatcher
from comitas_shared.events.envelope import CloudEvent

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
SESSION = object()


def submitted(complaint_id: str) -> CloudEvent:
    data = ComplaintSubmitted(complaint_id=complaint_id, institution_id="inst_a", reference=f"REF-{complaint_id}",
                              channel="partner_api", submitted_at=AT)
    return COMPLAINT_SUBMITTED.build(source="/intake", subject=complaint_id, institution_id="inst_a", data=data,
                                     time=AT, id=f"evt-{complaint_id}")


def erased(complaint_id: str) -> CloudEvent:
    return COMPLAINT_ERASED.build(source="/intake", subject=complaint_id, institution_id="inst_a",
                                  data=ComplaintErased(complaint_id=complaint_id, institution_id="inst_a", erased_at=AT), time=AT, id=f"evt-x-{complaint_id}")


@dataclass
class Seen:
    session: Any
    prepared: list[str]
    handled: list[tuple[str, str, str]] = field(default_factory=list)
    finished: int = 0


def dispatcher(batches: list[Seen]) -> BatchDispatcher[Seen]:
    async def prepare(session: Any, typed: list[tuple[CloudEvent, Any]]) -> Seen:
        batches.append(Seen(session, [event.id for event, _ in typed]))
        return batches[-1]

    async def finish(batch: Seen) -> None:
        batch.finished += 1

    def on_submitted(batch: Seen, data: ComplaintSubmitted, event: CloudEvent) -> None:
        if data.complaint_id == "refused":
            raise InvalidInput("this one cannot be applied")
        batch.handled.append(("submitted", data.reference, event.id))

    def on_erased(batch: Seen, data: ComplaintErased, event: CloudEvent) -> None:
        batch.handled.append(("erased", data.complaint_id, event.id))

    return BatchDispatcher(prepare, finish, skipped=(InvalidInput,)).on(COMPLAINT_SUBMITTED, on_submitted) \
        .on(COMPLAINT_ERASED, on_erased)


async def test_each_event_reaches_its_types_handler_in_order_with_one_prepare_and_one_finish():
    batches: list[Seen] = []
    await dispatcher(batches)(SESSION, [submitted("c1"), erased("c2"), submitted("c3")])  # type: ignore[arg-type]
    assert len(batches) == 1
    assert batches[0].session is SESSION
    assert batches[0].prepared == ["evt-c1", "evt-x-c2", "evt-c3"]
    assert batches[0].handled == [("submitted", "REF-c1", "evt-c1"), ("erased", "c2", "evt-x-c2"),
                                  ("submitted", "REF-c3", "evt-c3")]
    assert batches[0].finished == 1


async def test_unknown_types_and_payloads_that_never_validate_are_left_out_before_prepare(caplog):
    other = submitted("c9").model_copy(update={"type": "comitas.complaint.assessed", "id": "evt-other"})
    broken = submitted("c8").model_copy(update={"data": {"complaint_id": "c8"}, "id": "evt-broken"})
    batches: list[Seen] = []
    with caplog.at_level(logging.ERROR):
        await dispatcher(batches)(SESSION, [other, broken, submitted("c1")])  # type: ignore[arg-type]
    assert batches[0].prepared == ["evt-c1"]
    assert batches[0].handled == [("submitted", "REF-c1", "evt-c1")]
    assert any("evt-broken" in record.getMessage() for record in caplog.records)


async def test_a_batch_with_nothing_to_handle_is_not_prepared():
    batches: list[Seen] = []
    other = submitted("c9").model_copy(update={"type": "comitas.complaint.assessed"})
    await dispatcher(batches)(SESSION, [other])  # type: ignore[arg-type]
    assert batches == []


async def test_an_event_that_cannot_be_applied_is_logged_and_the_batch_goes_on(caplog):
    batches: list[Seen] = []
    with caplog.at_level(logging.WARNING):
        await dispatcher(batches)(SESSION, [submitted("refused"), submitted("c2")])  # type: ignore[arg-type]
    assert batches[0].handled == [("submitted", "REF-c2", "evt-c2")]
    assert batches[0].finished == 1
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "comitas.complaint.submitted evt-refused not applied: this one cannot be applied"]


async def test_any_other_error_fails_the_whole_batch_for_the_consumer_to_retry():
    async def prepare(session: Any, typed: list[tuple[CloudEvent, Any]]) -> list[str]:
        return []

    async def finish(batch: list[str]) -> None:
        batch.append("finished")

    def boom(batch: list[str], data: ComplaintSubmitted, event: CloudEvent) -> None:
        raise RuntimeError("not yet")

    routes = BatchDispatcher(prepare, finish, skipped=(InvalidInput,)).on(COMPLAINT_SUBMITTED, boom)
    with pytest.raises(RuntimeError, match="not yet"):
        await routes(SESSION, [submitted("c1")])  # type: ignore[arg-type]


def test_a_type_has_one_handler_and_the_subjects_are_the_routes():
    routes = dispatcher([])
    assert routes.subjects == ["events.complaint.erased", "events.complaint.submitted"]
    with pytest.raises(ValueError, match="already has a handler"):
        routes.on(COMPLAINT_ERASED, lambda batch, data, event: None)
