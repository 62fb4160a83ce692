"""The event catalogue: every event type Comitas emits, declared once, with its typed payload.

Each entry says when the event is sent and who consumes it. Changes are additive: add optional fields;
a breaking change is a new type (``comitas.<context>.<event>.v2``). The JSON Schemas and the AsyncAPI
document (``docs/events/``) are generated from this module by ``make schemas`` and a test checks they
are current.

Payloads never carry victims' identifying data: events travel to feeds and webhooks of other
institutions, so they carry ids, states, dates and codes only.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from .envelope import CloudEvent, subject_for_type


class EventData(BaseModel):
    # Consumers tolerate fields they do not know (additive changes); producers are checked strictly.
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class EventType:
    type: str
    # builtins.type: inside this class body "type" is the field above.
    data: builtins.type[EventData]
    doc: str
    producer: str
    consumers: tuple[str, ...]
    # Whether institutions' own feeds and webhooks may carry it (security events do not).
    external: bool = True

    @property
    def subject(self) -> str:
        return subject_for_type(self.type)

    def build(
        self,
        *,
        source: str,
        subject: str | None,
        institution_id: str | None,
        data: EventData,
        time: datetime,
        concerns: tuple[str, ...] = (),
        id: str | None = None,  # noqa: A002 - the CloudEvents attribute's own name
    ) -> CloudEvent:
        """The event, with a new id unless ``id`` is given (one derived from what happened, so that doing
        it again names the same event)."""
        if not isinstance(data, self.data):
            raise TypeError(f"{self.type} carries {self.data.__name__}, not {type(data).__name__}")
        fixed = {} if id is None else {"id": id}
        return CloudEvent(
            source=source, type=self.type, subject=subject, institutionid=institution_id,
            concerns=concerns, time=time, data=data.model_dump(mode="json"), **fixed,
        )


CATALOGUE: dict[str, EventType] = {}


def _declare(type_: str, data: type[EventData], *, producer: str, consumers: tuple[str, ...],
             external: bool = True) -> EventType:
    entry = EventType(type=type_, data=data, doc=(data.__doc__ or "").strip(), producer=producer,
                      consumers=consumers, external=external)
    if type_ in CATALOGUE:
        raise ValueError(f"event type {type_} declared twice")
    CATALOGUE[type_] = entry
    return entry


def event_type_for(type_: str) -> EventType:
    return CATALOGUE[type_]


# --- identity -------------------------------------------------------------------------------------


class TokenRevoked(EventData):
    """Sent by identity when an access token is revoked (RFC 7009). Every resource server adds the
    ``jti`` to its deny-list until the token's own expiry. Internal: never on an institution's feed."""

    jti: str
    expires_at: datetime
    client_id: str


TOKEN_REVOKED = _declare("comitas.identity.token_revoked", TokenRevoked, producer="identity",
                         consumers=("intake", "notifications", "identity"), external=False)


# --- institutions (identity) ----------------------------------------------------------------------


class DirectoryPeriod(EventData):
    """A time limit an institution keeps (to acknowledge, to answer a referral)."""

    amount: int
    unit: Literal["working_days", "calendar_days"]


class DirectoryClosure(EventData):
    """A day, or ``day``..``until`` inclusive, the institution is closed besides its State's holidays."""

    day: date
    until: date | None = None
    name: str
    source: str | None = None


class DirectoryMandate(EventData):
    subject_areas: list[str] = Field(default_factory=list, description="codes of identity's GET /v1/vocabularies/"
                                                                       "subject-areas")
    investigates: list[str] = Field(default_factory=list, description="public_authorities, private_actors")
    countries: list[str] = Field(default_factory=list, description="ISO 3166-1 alpha-2 codes of the States it may "
                                                                   "act on")


class DirectoryEntry(EventData):
    """Common shape of the directory events (not itself an event type): the institution's entry as every
    holder of ``directory:read`` sees it, after the change, with its ``version``. Never the contact
    e-mail addresses or language (private to the institution; the notification service reads them from
    identity's API). Codes are strings, not closed lists, so a new kind or area is an additive change."""

    institution_id: str
    version: int = Field(description="increases with every change: apply an entry only if newer than yours")
    name: str
    kind: str
    country: str
    subdivision: str | None = Field(None, description="ISO 3166-2")
    time_zone: str | None = Field(None, description="IANA zone its periods are counted in")
    languages: list[str] = Field(default_factory=list, description="ISO 639-1, the first the main one")
    mandate: DirectoryMandate
    state_institution: bool
    accepts_referrals: bool
    referral_kinds: list[str] = Field(default_factory=list, description="referral, transfer")
    referral_purposes: list[str] = Field(default_factory=list)
    acknowledgement_period: DirectoryPeriod | None = None
    response_period: DirectoryPeriod | None = None
    closures: list[DirectoryClosure] = Field(default_factory=list)
    active: bool
    changed_at: datetime


class InstitutionRegistered(DirectoryEntry):
    """Sent by identity when an institution is added to the directory (version 1), once. Consumed by
    referral (its read model of who can take a case), notifications (an institution's feed account,
    e-mail settings) and mla (central authorities)."""


class InstitutionUpdated(DirectoryEntry):
    """Sent by identity once per change to an institution's entry (by the platform's administrators or
    by the institution itself), with the whole public entry after the change and ``changed``, the names
    of the fields that changed. ``changed`` may name ``contact`` alone: the entry is then the same and
    the notification service re-reads the contact from identity. Consumed by referral, notifications
    and mla."""

    changed: list[str]


INSTITUTION_REGISTERED = _declare("comitas.institution.registered", InstitutionRegistered, producer="identity",
                                  consumers=("referral", "notifications", "mla"))
INSTITUTION_UPDATED = _declare("comitas.institution.updated", InstitutionUpdated, producer="identity",
                               consumers=("referral", "notifications", "mla"))


# --- complaints (intake) --------------------------------------------------------------------------

Urgency = Literal["normal", "urgent"]
Channel = Literal["partner_api", "liaison_officer", "public_form", "transfer"]


class ComplaintSubmitted(EventData):
    """Sent by intake when a complaint is accepted, once per complaint, whatever the channel.
    Consumed by notifications (webhooks, feeds, inbox). Carries no identifying data of the victim."""

    complaint_id: str
    institution_id: str
    reference: str
    channel: Channel
    submitted_at: datetime
    respondent_states: list[str] = Field(default_factory=list)
    urgency: Urgency = "normal"


COMPLAINT_SUBMITTED = _declare("comitas.complaint.submitted", ComplaintSubmitted, producer="intake",
                               consumers=("notifications", "intake"))


class MechanismSummary(EventData):
    mechanism: str
    available: Literal["yes", "no", "unknown"]
    last_day: date | None = None
    time_zone: str | None = None


class ComplaintAssessed(EventData):
    """Sent by intake each time an admissibility assessment is stored for a complaint (first run or
    re-run). Consumed by notifications; tells the owning institution which mechanisms are open."""

    complaint_id: str
    assessment_id: str
    institution_id: str
    rules_version: str
    assessed_at: datetime
    recommended: list[str] = Field(default_factory=list)
    mechanisms: list[MechanismSummary] = Field(default_factory=list)


COMPLAINT_ASSESSED = _declare("comitas.complaint.assessed", ComplaintAssessed, producer="intake",
                              consumers=("notifications",))


# --- complaints lifecycle -------------------------------------------------------------------------

ComplaintStatus = Literal["received", "under_assessment", "active", "closed", "withdrawn"]


class ComplaintStatusChanged(EventData):
    """Sent by intake when a complaint moves in its lifecycle: put under assessment, activated, closed
    (with the reason's code), withdrawn by the victim, or reopened. Consumed by notifications (the
    institution's feed, webhooks and inbox). Codes and states only: no identifying data."""

    complaint_id: str
    institution_id: str
    action: Literal["start_assessment", "activate", "close", "withdraw", "reopen"]
    from_status: ComplaintStatus
    to_status: ComplaintStatus
    reason: str | None = Field(None, description="why it was closed: a code (resolved, inadmissible, referred…)")
    changed_at: datetime


COMPLAINT_STATUS_CHANGED = _declare("comitas.complaint.status_changed", ComplaintStatusChanged, producer="intake",
                                    consumers=("notifications",))


class ComplaintFilingChanged(EventData):
    """Sent by intake when the owning institution records a filing of a complaint with an international
    mechanism ("opened"), or the filing moves (filed, registered, decided, rejected, withdrawn).
    Consumed by notifications. The mechanism's code and states only."""

    complaint_id: str
    institution_id: str
    filing_id: str
    mechanism: str
    action: str
    from_status: str | None = None
    to_status: str
    changed_at: datetime


COMPLAINT_FILING_CHANGED = _declare("comitas.complaint.filing_changed", ComplaintFilingChanged, producer="intake",
                                    consumers=("notifications",))


class ComplaintReferralChanged(EventData):
    """Sent by intake when the owning institution records that a complaint is to be referred to another
    institution ("opened"), or that record moves (sent, accepted, declined, completed, cancelled).
    It is the owner's own record, on the owner's feed only; the referral itself, between the two
    institutions, is the referral service's. Consumed by notifications."""

    complaint_id: str
    institution_id: str
    referral_id: str
    to_institution_id: str
    action: str
    from_status: str | None = None
    to_status: str
    changed_at: datetime


COMPLAINT_REFERRAL_CHANGED = _declare("comitas.complaint.referral_changed", ComplaintReferralChanged,
                                      producer="intake", consumers=("notifications",))


class GrantHolder(EventData):
    """An institution that held disclosures of a complaint, and their grant ids."""

    institution_id: str
    grant_ids: list[str] = Field(default_factory=list)


class ComplaintErased(EventData):
    """Sent by intake when a complaint is erased on request: its key is destroyed (everything sealed
    with it is unreadable), its possible-duplicate index rows are deleted, its de-identified counts
    stay. Consumed by notifications; services holding grant ids for it learn that they lead nowhere.
    When disclosures of it were in force, one event per recipient names that recipient alone and its
    grants (revoked at once; the event concerns it and the owner), so no recipient learns who else held
    the case; otherwise one event naming no one."""

    complaint_id: str
    institution_id: str
    erased_at: datetime
    recipients: list[GrantHolder] = Field(default_factory=list, description="the recipient told by this event and "
                                                                            "its grants, now revoked")


COMPLAINT_ERASED = _declare("comitas.complaint.erased", ComplaintErased, producer="intake",
                            consumers=("notifications", "referral"))


class TransferParty(EventData):
    institution_id: str
    complaint_id: str


class TransferredDeadline(EventData):
    mechanism: str
    last_day: date
    time_zone: str


class ComplaintTransferred(EventData):
    """Sent by intake when a complaint is transferred: the recipient institution took the case over
    (``POST /v1/transfers``, called by referral with the recipient's exchanged token when it accepts a
    transfer). In one transaction the recipient's complaint was created under a key of its own from the
    data the victim consented to transfer, the sender's complaint became ``transferred``, the consent
    records followed the case, and the watched filing deadlines were handed over (withdrawn for the
    sender, requested for the recipient). Concerns both institutions. Consumed by referral (the
    transfer is done) and notifications. Ids, codes and dates only."""

    complaint_id: str = Field(description="the recipient's new complaint")
    institution_id: str = Field(description="the recipient, which now holds the case")
    reference: str = Field(description="the recipient's reference of the new complaint")
    transferred_from: TransferParty
    referral_id: str
    grant_id: str
    categories: list[str] = Field(description="the data categories the victim consented to transfer")
    deadlines: list[TransferredDeadline] = Field(default_factory=list, description="the filing deadlines handed over")
    transferred_at: datetime


COMPLAINT_TRANSFERRED = _declare("comitas.complaint.transferred", ComplaintTransferred, producer="intake",
                                 consumers=("referral", "notifications"))


class ComplaintMessageReceived(EventData):
    """Sent by intake when the person who submitted a complaint through the public channel writes to
    the institution with the receipt code. Concerns only the institution that holds the case now (after
    a transfer, the recipient). Never the message's content (it is sealed with the complaint's key and
    read in intake, audited). Consumed by notifications (inbox, webhooks, feeds)."""

    complaint_id: str
    institution_id: str
    message_id: str
    received_at: datetime


COMPLAINT_MESSAGE_RECEIVED = _declare("comitas.complaint.message_received", ComplaintMessageReceived,
                                      producer="intake", consumers=("notifications",))


# --- deadlines ------------------------------------------------------------------------------------


PeriodUnit = Literal["calendar_days", "working_days", "weeks", "months"]


class DeadlineCalendar(EventData):
    """Where a period is counted (ADR 0012): a State (``country``, optional ``subdivision``, the
    ``holidays`` library's ``categories``, and the ``time_zone`` the law counts in) or an international
    body's calendar kept as data (``body``: ``coe_strasbourg``, ``un_geneva``, ``iachr_washington``),
    plus the closures of the institution that must act."""

    country: str | None = Field(None, description="ISO 3166-1 alpha-2; or body")
    subdivision: str | None = Field(None, description="ISO 3166-2 code of the subdivision, as the holidays library "
                                                      "names it (e.g. BY, CT)")
    body: str | None = Field(None, description="an international body's calendar key; or country")
    time_zone: str | None = Field(None, description="IANA zone; required with a country (a body has its own)")
    categories: list[str] | None = Field(None, description="the holidays library's categories (default: public)")
    closures: list[DirectoryClosure] = Field(default_factory=list)


class ExtensionCap(EventData):
    """The most a rule lets a deadline be extended, from its last day before any extension (EIO
    Directive Art 12(5): 30 days)."""

    amount: int = Field(ge=1)
    unit: PeriodUnit
    provision: str


class DeadlineCounting(EventData):
    """A period as its rule counts it: ``amount`` ``unit`` from ``start`` in ``calendar``. The service
    that reminds counts it with ``comitas_shared.calendars`` and keeps the rule, so pauses and
    extensions can be applied to it later."""

    start: date = Field(description="the day of the start event")
    amount: int = Field(ge=1)
    unit: PeriodUnit
    calendar: DeadlineCalendar
    from_day_after: bool = Field(True, description="count from the day after start (false: start is day one)")
    move_off_non_working: Literal["none", "next"] = Field(
        "none", description="whether a last day on a non-working day moves to the next working day")
    extension_cap: ExtensionCap | None = None


class DeadlineRequested(EventData):
    """Sent by the service that owns a legal time limit (intake for filing limits; mla and referral for
    their periods) when a deadline must be watched, and again with the same ``deadline_key`` when it
    moves. Consumed by notifications, which keeps durable timers for each institution that must act and
    replaces them when the deadline moves.

    A producer either sends the last day it computed (``last_day``, ``time_zone``, ``due_at``,
    ``calendar``), as intake does, or also the rule it counted it with (``counting``, counted with the
    same ``comitas_shared.calendars``): notifications then counts it itself, and its count, with the
    holidays library's version, is what it watches, pauses and extends."""

    deadline_key: str
    institution_id: str
    kind: str
    title: str
    case_ref: str
    case_kind: Literal["complaint", "referral", "mla_request"] = "complaint"
    mechanism: str | None = None
    last_day: date
    time_zone: str
    due_at: datetime
    calendar: str = Field(description="how the last day was counted (calendar days, moves on non-working days…)")
    hard: bool = True
    rule: dict[str, Any] = Field(default_factory=dict, description="provision, source and status of the rule")
    concerns: list[str] | None = Field(None, description="the institutions that must act, each reminded its own way "
                                                         "(default: institution_id alone)")
    counting: DeadlineCounting | None = Field(None, description="the counting rule; when given, the reminding "
                                                                 "service counts the last day itself")
    holidays_version: str | None = Field(None, description="the holidays library's version the last day was "
                                                           "counted with, if any")
    calendar_data_version: str | None = Field(None, description="the body calendar data's version, if any")


DEADLINE_REQUESTED = _declare("comitas.deadline.requested", DeadlineRequested, producer="intake",
                              consumers=("notifications",))


class DeadlineWithdrawn(EventData):
    """Sent by the owner of a deadline when it no longer applies (met, moot, or dropped by a new
    assessment). Consumed by notifications, which purges the timer."""

    deadline_key: str
    institution_id: str
    reason: Literal["met", "withdrawn", "superseded"]


DEADLINE_WITHDRAWN = _declare("comitas.deadline.withdrawn", DeadlineWithdrawn, producer="intake",
                              consumers=("notifications",))


class DeadlinePaused(EventData):
    """Sent by the owner of a deadline (mla, referral) when its clock stops, for instance while a
    clarification is awaited. Consumed by notifications: a counted deadline has no last day while the
    pause is open, and no reminder fires; a deadline whose last day the owner computed keeps it, quiet,
    until the owner sends it again."""

    deadline_key: str
    institution_id: str
    paused_on: date = Field(description="the first day not counted")
    reason: str


DEADLINE_PAUSED = _declare("comitas.deadline.paused", DeadlinePaused, producer="mla",
                           consumers=("notifications",))


class DeadlineResumed(EventData):
    """Sent by the owner of a paused deadline when its clock restarts. Consumed by notifications, which
    counts the paused days out (``comitas_shared.calendars.apply_pauses``) and sets the reminders
    again."""

    deadline_key: str
    institution_id: str
    resumed_on: date = Field(description="the first day counted again")


DEADLINE_RESUMED = _declare("comitas.deadline.resumed", DeadlineResumed, producer="mla",
                            consumers=("notifications",))


class DeadlineExtended(EventData):
    """Sent by the owner of a counted deadline when it is extended (a reason, within the rule's cap).
    Consumed by notifications, which extends it with ``comitas_shared.calendars.extend`` from its
    nominal last day; an extension beyond the cap is refused there and logged. The same event applied
    twice extends once."""

    deadline_key: str
    institution_id: str
    amount: int = Field(ge=1)
    unit: PeriodUnit
    reason: str
    cap: ExtensionCap | None = Field(None, description="default: the counting rule's extension_cap")


DEADLINE_EXTENDED = _declare("comitas.deadline.extended", DeadlineExtended, producer="mla",
                             consumers=("notifications",))


class DeadlineReminder(EventData):
    """Sent by notifications when a reminder of a watched deadline is due: its durable timer fired and
    the deadline is still open, not paused and not moved. Written in the same transaction as the inbox
    item, concerning the one institution reminded (``institution_id``). Its event id is the same
    however often the timer fires (deadline, reminder, last instant), so the channels (webhooks,
    e-mail, NATS feeds) deliver it at least once and receivers dedupe on it. Consumed by notifications'
    channels."""

    deadline_id: str
    deadline_key: str
    institution_id: str = Field(description="the institution reminded")
    owner_institution_id: str = Field(description="the institution whose deadline it is")
    case_ref: str
    case_kind: str
    kind: str
    title: str
    mechanism: str | None = None
    hard: bool = True
    reminder: str = Field(description="d14, d3, d1 (days before), h…/m…/s… (shorter offsets), day (on the last "
                                      "day), overdue (the last day has ended)")
    fire_at: datetime = Field(description="when the reminder was due")
    last_day: date
    time_zone: str
    due_at: datetime = Field(description="the instant the last day ends, UTC")


DEADLINE_REMINDER = _declare("comitas.deadline.reminder", DeadlineReminder, producer="notifications",
                             consumers=("notifications",))


# --- consent and evidence -------------------------------------------------------------------------


class DisclosureRecipient(EventData):
    institution_id: str
    grant_ids: list[str] = Field(default_factory=list, description="the disclosures revoked by this withdrawal")


class ConsentWithdrawn(EventData):
    """Sent by intake when a victim's consent is withdrawn (for a recipient, purposes and data categories).
    ``recipients`` names the institutions that already received the data under it: their disclosures are
    revoked at once (their next read of the grant fails) and they must be told. One event per recipient
    (that recipient alone named; the event concerns it and the owner), so no recipient learns who else
    holds the case; one event with no recipient when nobody received anything. Consumed by referral
    (tells the recipient in the thread) and notifications (webhooks, feeds). No identifying data."""

    consent_id: str
    complaint_id: str
    institution_id: str
    withdrawn_at: datetime
    recorded_at: datetime
    purposes: list[str]
    categories: list[str]
    recipient_type: Literal["institution", "institution_kind", "mechanism"]
    recipient: str
    recipients: list[DisclosureRecipient] = Field(default_factory=list)


CONSENT_WITHDRAWN = _declare("comitas.consent.withdrawn", ConsentWithdrawn, producer="intake",
                             consumers=("referral", "notifications"))


class EvidenceAdded(EventData):
    """Sent by intake when an evidence file is stored for a complaint (its type accepted, its bytes
    encrypted under the complaint's key). Carries the SHA-256 and the detected type, never the content
    or the file name. Consumed by notifications."""

    evidence_id: str
    complaint_id: str
    institution_id: str
    sha256: str
    size: int
    detected_type: str
    received_at: datetime


EVIDENCE_ADDED = _declare("comitas.evidence.added", EvidenceAdded, producer="intake", consumers=("notifications",))


class PatternDetected(EventData):
    """Sent by intake when complaints against one state for one type of act cluster across institutions:
    at least ``threshold`` distinct victims (counted by keyed digests, never named) within the window.
    One event per subscribed institution (a regional commission, a UN field office, an NHRI…; never a
    state authority), concerning it alone. Counts only: no complaint, victim or institution is named.
    Consumed by notifications (webhooks, feeds)."""

    pattern_id: str
    institution_id: str = Field(description="the subscriber told")
    respondent_state: str
    act_type: str
    window_start: date
    window_end: date
    victims: int = Field(description="distinct victims in the window (at least the threshold)")
    institutions: int = Field(description="how many institutions hold such complaints")
    threshold: int
    detected_at: datetime


PATTERN_DETECTED = _declare("comitas.pattern.detected", PatternDetected, producer="intake",
                            consumers=("notifications",))


# --- mla ------------------------------------------------------------------------------------------

MlaState = Literal["draft", "issued", "acknowledged", "clarification_requested", "clarified", "recognised",
                   "in_execution", "executed", "refused", "postponed", "withdrawn"]


class MlaRequestEvent(EventData):
    """Common shape of every MLA lifecycle event (not itself an event type). Each concerns both the
    requesting and the requested authority. A request marked confidential carries only ``request_id``
    and ``state``: the other fields are left out of the payload, not sent empty. No event carries the
    facts, the persons concerned or any free text of the request."""

    request_id: str
    state: MlaState
    reference: str | None = None
    basis: str | None = None
    requesting_institution_id: str | None = None
    requested_institution_id: str | None = None
    requesting_state: str | None = None
    requested_state: str | None = None
    assistance: list[str] | None = None

    @model_serializer(mode="wrap")
    def _absent_fields_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {name: value for name, value in dumped.items() if value is not None}


class MlaIssued(MlaRequestEvent):
    """Sent by mla when the requesting authority issues a request to the requested central authority
    (its receipt, for the basis's time limits). Consumed by notifications (webhooks, feeds, inbox)."""

    received_at: datetime | None = None


class MlaAcknowledged(MlaRequestEvent):
    """Sent by mla when the requested authority acknowledges receipt (EIO: Annex B). Consumed by
    notifications."""


class MlaClarificationRequested(MlaRequestEvent):
    """Sent by mla when the requested authority asks the requesting one for more information.
    Consumed by notifications."""


class MlaClarified(MlaRequestEvent):
    """Sent by mla when the requesting authority answers a request for clarification. Consumed by
    notifications."""


class MlaRecognised(MlaRequestEvent):
    """Sent by mla when the requested authority recognises (EIO) or accepts the request for execution;
    the execution time limit starts. Consumed by notifications."""


class MlaResultReturned(MlaRequestEvent):
    """Sent by mla when the requested authority returns a result (evidence, a file, partial or final).
    Carries the result's id and SHA-256, never its content. Consumed by notifications."""

    result_id: str | None = None
    partial: bool | None = None
    sha256: str | None = None


class MlaExecuted(MlaRequestEvent):
    """Sent by mla when the requested authority reports the request executed. Consumed by notifications."""


class MlaRefused(MlaRequestEvent):
    """Sent by mla when the requested authority refuses the request, citing grounds of its legal basis
    (their codes; the reasons stay in the request). Consumed by notifications."""

    grounds: list[str] | None = None


class MlaPostponed(MlaRequestEvent):
    """Sent by mla when the requested authority postpones recognition or execution, until a date.
    Consumed by notifications."""

    until: date | None = None


class MlaResumed(MlaRequestEvent):
    """Sent by mla when a postponed request is taken up again. Consumed by notifications."""


class MlaWithdrawn(MlaRequestEvent):
    """Sent by mla when the requesting authority withdraws a request. Consumed by notifications."""


class MlaRecognitionExtended(MlaRequestEvent):
    """Sent by mla when the requested authority extends the recognition time limit (EIO Art 12(5)),
    with the new last day. Consumed by notifications."""

    last_day: date | None = None
    extension_days: int | None = None


class MlaExecutionConsulted(MlaRequestEvent):
    """Sent by mla when the requested authority informs and consults the requesting one because the
    execution time limit cannot be met (EIO Art 12(6)), with its estimate. Consumed by notifications."""

    estimated_date: date | None = None


class MlaStatusRequested(MlaRequestEvent):
    """Sent by mla when the requesting authority asks how a request stands; it stays open until the
    requested authority answers. Consumed by notifications."""

    status_request_id: str | None = None


class MlaStatusAnswered(MlaRequestEvent):
    """Sent by mla when the requested authority answers a status request. Consumed by notifications."""

    status_request_id: str | None = None


def _declare_mla(event: str, data: type[EventData]) -> EventType:
    return _declare(f"comitas.mla.{event}", data, producer="mla", consumers=("notifications",))


# --- referral -------------------------------------------------------------------------------------

ReferralState = Literal["sending", "sent", "acknowledged", "accepted", "declined", "withdrawn", "failed"]


class ReferralEvent(EventData):
    """Common shape of every referral event (not itself an event type). Each concerns both the sending
    and the receiving institution, and carries the head of the referral's receipt chain after the
    transition (``receipt_sequence``, ``receipt_hash``: removing the last receipt is then detected). No
    event carries the victim's data, the message texts or the reasons' free text: ids, states and codes."""

    referral_id: str
    state: ReferralState
    kind: Literal["referral", "transfer"]
    purpose: str
    complaint_id: str = Field(description="the sender's complaint (the recipient reads it only through the grant)")
    sender_institution_id: str
    recipient_institution_id: str
    receipt_sequence: int | None = None
    receipt_hash: str | None = None


class ReferralSent(ReferralEvent):
    """Sent by referral when a referral reaches its recipient: intake froze the disclosure (``grant_id``)
    and the acknowledgement deadline runs. Consumed by notifications."""

    grant_id: str
    acknowledgement_due: date | None = None


class ReferralAcknowledged(ReferralEvent):
    """Sent by referral when the recipient acknowledges receipt; the response deadline starts. Consumed by
    notifications."""

    response_due: date | None = None


class ReferralAccepted(ReferralEvent):
    """Sent by referral when the recipient accepts the case (a transfer: it now holds the complaint,
    ``transferred_complaint_id`` in its own intake). Consumed by notifications."""

    transferred_complaint_id: str | None = None


class ReferralDeclined(ReferralEvent):
    """Sent by referral when the recipient declines, with a reason code (the text stays in referral).
    Consumed by notifications."""

    reason_code: str


class ReferralInformationRequested(ReferralEvent):
    """Sent by referral when the recipient asks the sender for more information: an open sub-request,
    answered in the thread, that pauses the response deadline while open. Consumed by notifications."""

    information_request_id: str


class ReferralInformationProvided(ReferralEvent):
    """Sent by referral when the sender answers a request for information; the response deadline runs
    again. Consumed by notifications."""

    information_request_id: str


class ReferralWithdrawn(ReferralEvent):
    """Sent by referral when the sender withdraws a referral before acceptance. Consumed by notifications."""


class ReferralClosed(ReferralEvent):
    """Sent by referral when one side closes its own side of a referral (``side``: sender or recipient),
    with its outcome code. Consumed by notifications."""

    side: Literal["sender", "recipient"]
    outcome: str


class ReferralMessagePosted(ReferralEvent):
    """Sent by referral when a message is posted in a referral's thread (by a side, or by the platform:
    ``author`` system). Carries the message's id and SHA-256, never its text. Consumed by notifications."""

    message_id: str
    author: Literal["sender", "recipient", "system"]
    message_hash: str


class ReferralDisclosureRevoked(ReferralEvent):
    """Sent by referral when the disclosure behind a referral stops being readable: the victim withdrew
    consent (``consent_withdrawn``) or the complaint was erased (``complaint_erased``). The recipient's
    next read of the grant fails at intake; the thread says so too. Consumed by notifications."""

    grant_id: str
    cause: Literal["consent_withdrawn", "complaint_erased"]


def _declare_referral(event: str, data: type[EventData]) -> EventType:
    return _declare(f"comitas.referral.{event}", data, producer="referral", consumers=("notifications",))


REFERRAL_SENT = _declare_referral("sent", ReferralSent)
REFERRAL_ACKNOWLEDGED = _declare_referral("acknowledged", ReferralAcknowledged)
REFERRAL_ACCEPTED = _declare_referral("accepted", ReferralAccepted)
REFERRAL_DECLINED = _declare_referral("declined", ReferralDeclined)
REFERRAL_INFORMATION_REQUESTED = _declare_referral("information_requested", ReferralInformationRequested)
REFERRAL_INFORMATION_PROVIDED = _declare_referral("information_provided", ReferralInformationProvided)
REFERRAL_WITHDRAWN = _declare_referral("withdrawn", ReferralWithdrawn)
REFERRAL_CLOSED = _declare_referral("closed", ReferralClosed)
REFERRAL_MESSAGE_POSTED = _declare_referral("message_posted", ReferralMessagePosted)
REFERRAL_DISCLOSURE_REVOKED = _declare_referral("disclosure_revoked", ReferralDisclosureRevoked)


MLA_ISSUED = _declare_mla("issued", MlaIssued)
MLA_ACKNOWLEDGED = _declare_mla("acknowledged", MlaAcknowledged)
MLA_CLARIFICATION_REQUESTED = _declare_mla("clarification_requested", MlaClarificationRequested)
MLA_CLARIFIED = _declare_mla("clarified", MlaClarified)
MLA_RECOGNISED = _declare_mla("recognised", MlaRecognised)
MLA_RESULT_RETURNED = _declare_mla("result_returned", MlaResultReturned)
MLA_EXECUTED = _declare_mla("executed", MlaExecuted)
MLA_REFUSED = _declare_mla("refused", MlaRefused)
MLA_POSTPONED = _declare_mla("postponed", MlaPostponed)
MLA_RESUMED = _declare_mla("resumed", MlaResumed)
MLA_WITHDRAWN = _declare_mla("withdrawn", MlaWithdrawn)
MLA_RECOGNITION_EXTENDED = _declare_mla("recognition_extended", MlaRecognitionExtended)
MLA_EXECUTION_CONSULTED = _declare_mla("execution_consulted", MlaExecutionConsulted)
MLA_STATUS_REQUESTED = _declare_mla("status_requested", MlaStatusRequested)
MLA_STATUS_ANSWERED = _declare_mla("status_answered", MlaStatusAnswered)

def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each event's ``data``, keyed by CloudEvents type."""
    return {t: entry.data.model_json_schema() for t, entry in sorted(CATALOGUE.items())}


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for type_, entry in sorted(CATALOGUE.items()):
        name = type_.removeprefix("comitas.").replace(".", "_")
        messages[name] = {
            "name": type_,
            "summary": entry.doc.splitlines()[0] if entry.doc else type_,
            "description": entry.doc,
            "contentType": "application/json",
            # Headers (CloudEvents binary mode) are added by events/export.py, once for every message.
            "payload": entry.data.model_json_schema(),
        }
        channels[name] = {"address": entry.subject, "messages": {name: {"$ref": f"#/components/messages/{name}"}}}
        operations[f"publish_{name}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"{entry.producer} publishes through its outbox",
        }
        if entry.external:
            feed = f"feed_{name}"
            channels[feed] = {
                "address": "feed.{institution_id}." + entry.subject.removeprefix("events."),
                "parameters": {"institution_id": {"description": "the subscribing institution"}},
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Comitas events", "version": "1.0.0",
                 "description": "Domain events over NATS JetStream (stream EVENTS), CloudEvents 1.0 binary mode."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
