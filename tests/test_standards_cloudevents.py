"""Our CloudEvents read the way the CNCF SDK reads them: binary mode from NATS headers (the NATS binding's
1.0.3 draft, ADR 0032) and structured mode from a delivered webhook; and we read what the SDK writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent

from comitas_shared.events.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent, decode_header_value
from comitas_shared.testing import eventually

from .webhooks import cloudevent_from_nats, cloudevent_from_webhook, nats_message_about, verified_payload

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
COMPLAINT = {"summary": "Detained without access to a lawyer.", "respondent_states": ["FR"]}
# Space, double quote, percent and non-ASCII: what the draft says must be percent-encoded in a header.
AWKWARD = 'Dossier né à "Saint-Étienne" 100% €'


def an_event(**changes) -> CloudEvent:
    values = dict(source="/comitas/intake", type="comitas.complaint.submitted", subject=AWKWARD,
                  time=datetime(2026, 11, 21, 9, 30, 15, 123000, tzinfo=UTC), institutionid="inst-1",
                  concerns=("inst-1", "inst-2"), traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                  data={"complaint_id": "c-1", "reference": "CMP-1"})
    return CloudEvent(**{**values, **changes})


def test_binary_mode_headers_decode_with_the_sdk_extensions_included():
    event = an_event()
    headers = event.nats_headers()
    for name, value in headers.items():
        assert all(0x21 <= ord(c) <= 0x7E for c in value) and '"' not in value, f"{name}: {value!r}"
    assert headers["ce-subject"] == "Dossier%20n%C3%A9%20%C3%A0%20%22Saint-%C3%89tienne%22%20100%25%20%E2%82%AC"
    assert headers["ce-traceparent"] == headers["traceparent"] == event.traceparent

    decoded = cloudevent_from_nats(headers, event.nats_body())
    assert decoded.get_id() == event.id and decoded.get_type() == event.type
    assert decoded.get_source() == event.source and decoded.get_subject() == AWKWARD
    assert decoded.get_time() == event.time
    assert decoded.get_datacontenttype() == "application/json"
    assert decoded.get_extension("institutionid") == "inst-1"
    assert decoded.get_extension("concerns") == "inst-1,inst-2"
    assert decoded.get_extension("traceparent") == event.traceparent
    assert decoded.get_data() == event.data
    assert CloudEvent.from_nats(headers, event.nats_body()) == event


def test_we_read_the_sdks_binary_and_structured_encodings():
    sdk = SdkEvent(attributes={"id": "e-1", "source": "/elsewhere", "type": "comitas.complaint.submitted",
                               "specversion": "1.0", "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                               "subject": AWKWARD, "datacontenttype": "application/json",
                               "institutionid": "inst-9", "traceparent": an_event().traceparent},
                   data={"complaint_id": "c-9"})
    binary = to_binary(sdk, JSONFormat())
    structured = to_structured(sdk, JSONFormat())
    assert structured.headers["content-type"].startswith("application/cloudevents")
    for message in (binary, structured):
        event = CloudEvent.from_nats(message.headers, message.body)
        assert (event.id, event.source, event.subject, event.institutionid) == ("e-1", "/elsewhere", AWKWARD, "inst-9")
        assert event.time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert event.traceparent == an_event().traceparent and event.data == {"complaint_id": "c-9"}


def test_header_values_unquote_then_percent_decode_and_refuse_overlong_utf8():
    assert decode_header_value('"a\\"b%20c"') == 'a"b c'  # quoted by an older sender
    assert decode_header_value("%e2%82%ac") == "€"  # lower-case hex accepted
    with pytest.raises(UnicodeDecodeError):
        decode_header_value("%C0%A0")  # an overlong encoding of a space


def test_a_webhook_body_is_the_structured_event_without_concerns():
    body = an_event().structured()
    assert "concerns" not in body
    assert body["traceparent"] == an_event().traceparent and body["subject"] == AWKWARD


async def subscribe(stack, credentials, receiver) -> str:
    async with await stack.client_for("notifications", credentials) as api:
        response = await api.post("/v1/subscriptions", json={"event_types": ["comitas.complaint.submitted"],
                                                             "url": receiver.url})
    assert response.status_code == 201, response.text
    return response.json()["secret"]


async def submit(stack, credentials) -> dict:
    async with await stack.client_for("intake", credentials) as api:
        response = await api.post("/v1/complaints", json=COMPLAINT)
    assert response.status_code == 201, response.text
    return response.json()


async def test_the_event_on_nats_and_its_webhook_decode_with_the_sdk_and_agree(stack, webhook_receiver):
    institution = await stack.new_institution()
    secret = await subscribe(stack, institution, webhook_receiver)
    complaint = await submit(stack, institution)

    [delivery] = await eventually(lambda: webhook_receiver.for_subject(complaint["id"]), timeout=10)
    headers, data = await eventually(lambda: nats_message_about(stack.nats.url, "events.complaint.submitted",
                                                                complaint["id"]), timeout=5)

    on_nats = cloudevent_from_nats(headers, data)
    assert on_nats.get_type() == "comitas.complaint.submitted" and on_nats.get_source() == "/comitas/intake"
    assert on_nats.get_subject() == complaint["id"]
    assert on_nats.get_extension("institutionid") == institution.institution_id
    assert on_nats.get_data()["complaint_id"] == complaint["id"]
    origin = TRACEPARENT.match(on_nats.get_extension("traceparent"))
    hop = TRACEPARENT.match(headers["traceparent"])
    assert origin and hop and origin.group(1) == hop.group(1)  # one trace: the request's, then the publish

    assert delivery["headers"]["content-type"] == STRUCTURED_CONTENT_TYPE
    assert verified_payload(secret, delivery)["id"] == on_nats.get_id()
    webhook = cloudevent_from_webhook(delivery)
    attributes = webhook.get_attributes()
    expected = {k: v for k, v in on_nats.get_attributes().items() if k != "concerns"}
    assert attributes == expected
    assert webhook.get_data() == on_nats.get_data()
