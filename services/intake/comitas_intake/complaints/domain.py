"""Pure decisions about complaints: no session, no clock, no NATS.

- what of a complaint is sealed (free text and identities) and what stays in clear (codes, dates,
  flags), and how the two halves are split and joined again (:data:`SEALED`, :func:`split`, :func:`join`);
- whether a complaint's facts hold together (:func:`validate`): no incident or decision in the future,
  no decision notified before it was taken, known vocabulary codes and ISO codes, ranges that end
  after they start; every problem with its JSON Pointer;
- the lifecycle of a complaint and of its referrals and filings (:func:`transition`,
  :func:`track_transition`), exhaustively tabled;
- what each forum's form requires that the complaint lacks (:func:`completeness`);
- the events each decision announces (never with identifying data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from comitas_shared import randomness
from comitas_shared.errors import InvalidInput, InvalidTransition
from comitas_shared.events.catalogue import (
    COMPLAINT_ERASED,
    COMPLAINT_FILING_CHANGED,
    COMPLAINT_REFERRAL_CHANGED,
    COMPLAINT_STATUS_CHANGED,
    COMPLAINT_SUBMITTED,
    ComplaintErased,
    ComplaintFilingChanged,
    ComplaintReferralChanged,
    ComplaintStatusChanged,
    ComplaintSubmitted,
    GrantHolder,
)
from comitas_shared.events.envelope import CloudEvent

from ..case_deadlines import latest_today
from ..vocabularies import Vocabularies, is_un_official_language, language, state
from .forms import Form, Requirement

# Crockford's alphabet: no I, L, O, U, so a reference read over the phone is not misheard.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(now: datetime) -> str:
    code = "".join(randomness.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"CMP-{now.year}-{code[:4]}-{code[4:]}"


# --- what is sealed ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllBut:
    """Seal every key of a mapping except these (for records that are identifying as a whole)."""

    keep: frozenset[str]


Mask = bool | AllBut | Mapping[str, "Mask"] | list["Mask"]

# The sections of a complaint and what of each is sealed with the complaint's key. The rule: free text
# and identities are sealed (names appear in narratives); codes, dates of the facts, counts and flags
# stay in clear, because the assessment, the statistics and the completeness checks read them
# without anyone reading identifying data.
SEALED: dict[str, Mask] = {
    "summary": True,
    "victims": [AllBut(frozenset({"kind", "deceased", "minor", "group_size"}))],
    "representative": {"name": True, "organisation": True, "addresses": True, "contacts": True,
                       "authority": {"justification": True}},
    "petitioner": {"name": True, "organisation": True, "legal_representative": True, "nationalities": True,
                   "occupation": True, "birth_date": True, "addresses": True, "contacts": True,
                   "authority": {"justification": True}},
    "actors": [{"name": True, "description": True}],
    "incidents": [{"place": True, "narrative": True}],
    "rights": [{"note": True}],
    "relief": {"details": True},
    "urgency": {"details": True},
    "disclosure": {"reasons": True},
}
# Set in a clear half: which sealed keys had a value (completeness reads it without opening anything).
PRESENT = "_sealed"
# Set in a clear half beside a sealed contact list: which kinds of contact exist (e-mail, phone...).
CONTACT_KINDS = "_contact_kinds"


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def split(value: Any, mask: Mask) -> tuple[Any, Any]:
    """``value`` cut by ``mask`` into (clear, sealed). Sealed is None when nothing was sealed."""
    if value is None:
        return None, None
    if mask is True:
        return None, value
    if mask is False:
        return value, None
    if isinstance(mask, list):
        if not isinstance(value, list):
            return value, None
        halves = [split(item, mask[0]) for item in value]
        items = [s if s is not None else {} for _, s in halves]
        return [c for c, _ in halves], items if any(_filled(s) for s in items) else None
    if not isinstance(value, dict):
        return value, None
    keys: Mapping[str, Mask] = ({k: (k not in mask.keep) for k in value} if isinstance(mask, AllBut)
                                else mask)
    clear: dict[str, Any] = {}
    sealed: dict[str, Any] = {}
    for key, item in value.items():
        sub = keys.get(key, False)
        c, s = split(item, sub)
        if c is not None and sub is not True:
            clear[key] = c
        if s is not None:
            sealed[key] = s
    present = sorted(k for k, v in sealed.items() if _filled(v))
    if present:
        clear[PRESENT] = present
    contacts = value.get("contacts")
    if isinstance(contacts, list) and keys.get("contacts", False) is True:
        clear[CONTACT_KINDS] = sorted({str(c.get("kind")) for c in contacts if isinstance(c, dict)})
    return clear, sealed or None


def join(clear: Any, sealed: Any) -> Any:
    """The inverse of :func:`split`; with ``sealed=None`` the clear half alone, markers removed."""
    if isinstance(clear, dict):
        joined = {k: join(v, None) for k, v in clear.items() if k not in (PRESENT, CONTACT_KINDS)}
        if isinstance(sealed, dict):
            for key, value in sealed.items():
                joined[key] = join(joined.get(key), value) if key in joined else value
        return joined
    if isinstance(clear, list):
        extra = sealed if isinstance(sealed, list) and len(sealed) == len(clear) else [None] * len(clear)
        return [join(c, s) for c, s in zip(clear, extra, strict=True)]
    if clear is None:
        return sealed
    return clear


# --- validation ----------------------------------------------------------------------------------


@dataclass
class Problems:
    """Every problem found, each with the JSON Pointer of the field it concerns."""

    errors: list[dict[str, str]] = field(default_factory=list)

    def add(self, pointer: str, detail: str) -> None:
        self.errors.append({"pointer": pointer, "detail": detail})

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(f"the complaint has {len(self.errors)} problem(s): nothing was written",
                               slug="validation-error", title="Validation error", errors=self.errors)


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def facts_began(record: Mapping[str, Any]) -> date | None:
    """The earliest known day of the facts: an incident's start, or the complaint's events date."""
    days = [d for d in (_date(i.get("start")) for i in record.get("incidents") or []) if d]
    given = _date(record.get("events_date"))
    if given:
        days.append(given)
    return min(days) if days else None


def _check_state(problems: Problems, pointer: str, code: Any, *, facts_on: date | None,
                 former_allowed: bool = True) -> None:
    if not isinstance(code, str):
        return
    found = state(code)
    if found is None:
        problems.add(pointer, f"{code!r} is not an ISO 3166-1 alpha-2 code (nor XK, nor a former state of "
                              "ISO 3166-3)")
        return
    if found.kind != "former" or found.withdrawn_on is None:
        return
    if not former_allowed:
        problems.add(pointer, f"{code!r} ({found.name}) is a former state: give the present state")
    elif facts_on is None:
        problems.add(pointer, f"{code!r} ({found.name}) is a former state: it can be named only for facts before "
                              f"{found.withdrawn_on.isoformat()}, and the complaint gives no date of the facts")
    elif facts_on > found.withdrawn_on:
        problems.add(pointer, f"{code!r} ({found.name}) ceased to exist on {found.withdrawn_on.isoformat()}, "
                              f"before the facts ({facts_on.isoformat()})")


def _not_future(problems: Problems, pointer: str, value: Any, today: date, what: str) -> None:
    day = _date(value)
    if day is not None and day > today:
        problems.add(pointer, f"{what} ({day.isoformat()}) is in the future")


def validate(record: Mapping[str, Any], *, given: Iterable[str], vocabularies: Vocabularies,
             now: datetime) -> None:
    """Checks the complaint ``record`` (its sections in full, as the API gives them), reporting only
    on the ``given`` sections and on references from them; raises :class:`InvalidInput` listing every
    problem with its pointer. A scheduled removal date may be in the future; a fact may not."""
    given = set(given)
    today = latest_today(now)
    problems = Problems()
    began = facts_began(record)
    victims = record.get("victims") or []
    actors = record.get("actors") or []

    if "events_date" in given:
        _not_future(problems, "/events_date", record.get("events_date"), today, "the date of the events")
    if "signed_on" in given:
        _not_future(problems, "/signed_on", record.get("signed_on"), today, "the date of signature")
    if "respondent_states" in given or "incidents" in given or "events_date" in given:
        for index, code in enumerate(record.get("respondent_states") or []):
            _check_state(problems, f"/respondent_states/{index}", code, facts_on=began)

    if "incidents" in given:
        for index, incident in enumerate(record.get("incidents") or []):
            at = f"/incidents/{index}"
            start, end = _date(incident.get("start")), _date(incident.get("end"))
            _not_future(problems, f"{at}/start", start, today, "the incident's start")
            _not_future(problems, f"{at}/end", end, today, "the incident's end")
            if start and end and end < start:
                problems.add(f"{at}/end", f"the incident ends ({end.isoformat()}) before it starts "
                                          f"({start.isoformat()})")
            if end and not start:
                problems.add(f"{at}/start", "a range needs its start (use precision for an approximate one)")
            _check_state(problems, f"{at}/country", incident.get("country"), facts_on=start or began)
            for j, code in enumerate(incident.get("act_types") or []):
                term = vocabularies.acts.get(code)
                if term is None:
                    problems.add(f"{at}/act_types/{j}", f"{code!r} is not a code of the types-of-acts vocabulary "
                                                        "(GET /v1/vocabularies/acts)")
                elif term.retired:
                    problems.add(f"{at}/act_types/{j}", f"{code!r} is retired: use a current code")
            for j, victim in enumerate(incident.get("victims") or []):
                if not 0 <= victim < len(victims):
                    problems.add(f"{at}/victims/{j}", f"there is no victim {victim} (the complaint lists "
                                                      f"{len(victims)})")
            for j, actor in enumerate(incident.get("actors") or []):
                if not 0 <= actor < len(actors):
                    problems.add(f"{at}/actors/{j}", f"there is no actor {actor} (the complaint lists {len(actors)})")
    elif "victims" in given or "actors" in given:
        # A shorter list must not leave incidents pointing at people who are no longer there.
        for index, incident in enumerate(record.get("incidents") or []):
            for j, victim in enumerate(incident.get("victims") or []):
                if not 0 <= victim < len(victims):
                    problems.add(f"/incidents/{index}/victims/{j}", f"victim {victim} is no longer listed")
            for j, actor in enumerate(incident.get("actors") or []):
                if not 0 <= actor < len(actors):
                    problems.add(f"/incidents/{index}/actors/{j}", f"actor {actor} is no longer listed")

    if "rights" in given:
        for index, right in enumerate(record.get("rights") or []):
            instrument = vocabularies.rights.instrument(str(right.get("instrument")))
            if instrument is None:
                problems.add(f"/rights/{index}/instrument", f"{right.get('instrument')!r} is not an instrument of the "
                                                            "catalogue (GET /v1/vocabularies/rights)")
            elif vocabularies.rights.article(instrument.code, str(right.get("article"))) is None:
                problems.add(f"/rights/{index}/article",
                             f"{instrument.code} has no article {right.get('article')!r} in the catalogue")

    if "domestic_remedies" in given:
        for index, remedy in enumerate(record.get("domestic_remedies") or []):
            at = f"/domestic_remedies/{index}"
            decided, notified = _date(remedy.get("final_decision_date")), _date(remedy.get("notification_date"))
            _not_future(problems, f"{at}/final_decision_date", decided, today, "the decision")
            _not_future(problems, f"{at}/notification_date", notified, today, "the notification of the decision")
            if decided and notified and notified < decided:
                problems.add(f"{at}/notification_date", f"the decision is notified ({notified.isoformat()}) before it "
                                                        f"was taken ({decided.isoformat()})")
    if "other_procedures" in given:
        for index, procedure in enumerate(record.get("other_procedures") or []):
            _not_future(problems, f"/other_procedures/{index}/ended_on", procedure.get("ended_on"), today,
                        "the end of the other procedure")

    if "victims" in given:
        for index, victim in enumerate(victims):
            at = f"/victims/{index}"
            _not_future(problems, f"{at}/birth_date", victim.get("birth_date"), today, "the birth date")
            _not_future(problems, f"{at}/registered_on", victim.get("registered_on"), today, "the registration")
            for j, code in enumerate(victim.get("nationalities") or []):
                # A former state is a nationality one may still hold on paper (a Soviet passport).
                if state(code) is None:
                    problems.add(f"{at}/nationalities/{j}", f"{code!r} is not an ISO 3166 code")
            for j, document in enumerate(victim.get("identity_documents") or []):
                _not_future(problems, f"{at}/identity_documents/{j}/issued_on", document.get("issued_on"), today,
                            "the document's issue")
                if document.get("issuing_state") and state(document["issuing_state"]) is None:
                    problems.add(f"{at}/identity_documents/{j}/issuing_state",
                                 f"{document['issuing_state']!r} is not an ISO 3166 code")
            for j, address in enumerate(victim.get("addresses") or []):
                if address.get("country"):
                    _check_state(problems, f"{at}/addresses/{j}/country", address["country"], facts_on=None,
                                 former_allowed=False)
            if victim.get("registered_in"):
                _check_state(problems, f"{at}/registered_in", victim["registered_in"], facts_on=None)
    for section in ("representative", "petitioner"):
        person = record.get(section)
        if section not in given or not isinstance(person, dict):
            continue
        for j, address in enumerate(person.get("addresses") or []):
            if address.get("country"):
                _check_state(problems, f"/{section}/addresses/{j}/country", address["country"], facts_on=None,
                             former_allowed=False)
        authority = person.get("authority") or {}
        for key in ("victim_signed_on", "representative_signed_on"):
            _not_future(problems, f"/{section}/authority/{key}", authority.get(key), today, "the signature")
        if person.get("state_of_recognition"):
            _check_state(problems, f"/{section}/state_of_recognition", person["state_of_recognition"],
                         facts_on=None, former_allowed=False)
    if "actors" in given:
        for index, actor in enumerate(actors):
            if actor.get("state"):
                _check_state(problems, f"/actors/{index}/state", actor["state"], facts_on=began)

    if "languages" in given:
        spoken = record.get("languages") or {}
        for j, code in enumerate(spoken.get("spoken") or []):
            if language(code) is None:
                problems.add(f"/languages/spoken/{j}", f"{code!r} is not an ISO 639 language code")
        for key in ("preferred", "submission"):
            if spoken.get(key) and language(spoken[key]) is None:
                problems.add(f"/languages/{key}", f"{spoken[key]!r} is not an ISO 639 language code")
    problems.raise_if_any()


# --- lifecycle -----------------------------------------------------------------------------------


class Status(StrEnum):
    RECEIVED = "received"
    UNDER_ASSESSMENT = "under_assessment"
    ACTIVE = "active"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    # Taken over by another institution (a transfer, with the victim's consent): final here, the case
    # goes on in the recipient's complaint (``transferred_to``).
    TRANSFERRED = "transferred"


class Action(StrEnum):
    START_ASSESSMENT = "start_assessment"
    ACTIVATE = "activate"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    REOPEN = "reopen"


class CloseReason(StrEnum):
    RESOLVED = "resolved"
    DECIDED = "decided"  # the forum seized decided the case
    REFERRED = "referred"  # handed to another institution, which now leads
    INADMISSIBLE = "inadmissible"
    OUTSIDE_MANDATE = "outside_mandate"
    DUPLICATE = "duplicate"
    NO_CONTACT = "no_contact"  # the victim can no longer be reached
    OTHER = "other"


# received → under assessment → active → closed; withdrawn by the victim at any point before closure;
# a closed complaint may be reopened (new facts), which puts it back under assessment.
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.START_ASSESSMENT: (frozenset({Status.RECEIVED}), Status.UNDER_ASSESSMENT),
    Action.ACTIVATE: (frozenset({Status.UNDER_ASSESSMENT}), Status.ACTIVE),
    Action.CLOSE: (frozenset({Status.RECEIVED, Status.UNDER_ASSESSMENT, Status.ACTIVE}), Status.CLOSED),
    Action.WITHDRAW: (frozenset({Status.RECEIVED, Status.UNDER_ASSESSMENT, Status.ACTIVE}), Status.WITHDRAWN),
    Action.REOPEN: (frozenset({Status.CLOSED}), Status.UNDER_ASSESSMENT),
}


@dataclass(frozen=True)
class Transition:
    from_status: Status
    to_status: Status
    action: Action
    reason: CloseReason | None
    event: CloudEvent


def transition(*, complaint_id: str, institution_id: str, status: str, action: Action,
               reason: CloseReason | None, now: datetime, source: str) -> Transition:
    """The complaint's next status after ``action``, and its event; 409 from a status that does not
    allow it. Closing needs a reason; no other action takes one."""
    allowed, target = TRANSITIONS[action]
    current = Status(status)
    if current not in allowed:
        raise InvalidTransition(
            f"a complaint that is {current.value} cannot be {_past(action)} (allowed from: "
            f"{', '.join(sorted(s.value for s in allowed))})", current_status=current.value, action=action.value)
    if action is Action.CLOSE and reason is None:
        raise InvalidInput("closing a complaint needs a reason", slug="validation-error", title="Validation error",
                           errors=[{"pointer": "/reason", "detail": "required to close"}])
    if action is not Action.CLOSE and reason is not None:
        raise InvalidInput("only closing takes a reason", slug="validation-error", title="Validation error",
                           errors=[{"pointer": "/reason", "detail": f"not used by {action.value}"}])
    event = COMPLAINT_STATUS_CHANGED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now,
        data=ComplaintStatusChanged(complaint_id=complaint_id, institution_id=institution_id, action=action.value,
                                    from_status=current.value, to_status=target.value,
                                    reason=reason.value if reason else None, changed_at=now))
    return Transition(from_status=current, to_status=target, action=action, reason=reason, event=event)


def transfer_out(*, status: str, erased: bool) -> Status:
    """The sender's complaint after another institution took it over: ``transferred``, from an open
    status only (a closed, withdrawn, erased or already transferred complaint is not handed over: 409).
    Not an action of the status endpoint: only a transfer, resting on the victim's consent, moves it."""
    current = Status(status)
    if erased:
        raise InvalidTransition("an erased complaint cannot be transferred", current_status=current.value,
                                action="transfer")
    if current not in OPEN_COMPLAINT:
        raise InvalidTransition(f"a complaint that is {current.value} cannot be transferred (allowed from: "
                                f"{', '.join(sorted(s.value for s in OPEN_COMPLAINT))})",
                                current_status=current.value, action="transfer")
    return Status.TRANSFERRED


def _past(action: StrEnum) -> str:
    return {"start_assessment": "put under assessment", "activate": "activated", "close": "closed",
            "withdraw": "withdrawn", "reopen": "reopened", "file": "filed", "register": "registered",
            "decide": "decided", "reject": "rejected", "send": "sent", "accept": "accepted",
            "decline": "declined", "complete": "completed", "cancel": "cancelled"}.get(action.value, action.value)


# --- referrals and filings: child records with their own state ------------------------------------


class TrackKind(StrEnum):
    FILING = "filing"  # with an international mechanism
    REFERRAL = "referral"  # to another institution


class TrackAction(StrEnum):
    # filings
    FILE = "file"
    REGISTER = "register"
    DECIDE = "decide"
    REJECT = "reject"
    # referrals
    SEND = "send"
    ACCEPT = "accept"
    DECLINE = "decline"
    COMPLETE = "complete"
    # both
    WITHDRAW = "withdraw"
    CANCEL = "cancel"


# A filing: prepared → filed (lodged) → registered (the body opened a file) → decided; the body may
# reject it (not registered, inadmissible); the complainant may withdraw it while it is open.
FILING_START = "preparing"
FILING_TRANSITIONS: dict[TrackAction, tuple[frozenset[str], str]] = {
    TrackAction.FILE: (frozenset({"preparing"}), "filed"),
    TrackAction.REGISTER: (frozenset({"filed"}), "registered"),
    TrackAction.DECIDE: (frozenset({"registered"}), "decided"),
    TrackAction.REJECT: (frozenset({"filed", "registered"}), "rejected"),
    TrackAction.WITHDRAW: (frozenset({"preparing", "filed", "registered"}), "withdrawn"),
}
# A referral: proposed → sent → accepted → completed, or declined; cancelled while not yet accepted.
REFERRAL_START = "proposed"
REFERRAL_TRANSITIONS: dict[TrackAction, tuple[frozenset[str], str]] = {
    TrackAction.SEND: (frozenset({"proposed"}), "sent"),
    TrackAction.ACCEPT: (frozenset({"sent"}), "accepted"),
    TrackAction.DECLINE: (frozenset({"sent"}), "declined"),
    TrackAction.COMPLETE: (frozenset({"accepted"}), "completed"),
    TrackAction.CANCEL: (frozenset({"proposed", "sent"}), "cancelled"),
}
TRACK_TABLES = {TrackKind.FILING: FILING_TRANSITIONS, TrackKind.REFERRAL: REFERRAL_TRANSITIONS}
TRACK_STATUSES = {
    TrackKind.FILING: ("preparing", "filed", "registered", "decided", "rejected", "withdrawn"),
    TrackKind.REFERRAL: ("proposed", "sent", "accepted", "declined", "completed", "cancelled"),
}
# The complaint statuses in which referrals and filings may be opened or moved.
OPEN_COMPLAINT = frozenset({Status.RECEIVED, Status.UNDER_ASSESSMENT, Status.ACTIVE})


@dataclass(frozen=True)
class TrackChange:
    from_status: str | None
    to_status: str
    event: CloudEvent


def _track_event(*, kind: TrackKind, complaint_id: str, institution_id: str, track_id: str, target: str,
                 action: str, from_status: str | None, to_status: str, now: datetime, source: str) -> CloudEvent:
    if kind is TrackKind.FILING:
        return COMPLAINT_FILING_CHANGED.build(
            source=source, subject=complaint_id, institution_id=institution_id, time=now,
            data=ComplaintFilingChanged(complaint_id=complaint_id, institution_id=institution_id, filing_id=track_id,
                                        mechanism=target, action=action, from_status=from_status,
                                        to_status=to_status, changed_at=now))
    return COMPLAINT_REFERRAL_CHANGED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now,
        data=ComplaintReferralChanged(complaint_id=complaint_id, institution_id=institution_id, referral_id=track_id,
                                      to_institution_id=target, action=action, from_status=from_status,
                                      to_status=to_status, changed_at=now))


def _complaint_open(complaint_status: str, what: str) -> None:
    if Status(complaint_status) not in OPEN_COMPLAINT:
        raise InvalidTransition(f"the complaint is {complaint_status}: its {what} cannot change",
                                current_status=complaint_status)


def open_track(*, kind: TrackKind, complaint_id: str, complaint_status: str, institution_id: str, track_id: str,
               target: str, now: datetime, source: str) -> TrackChange:
    """A new referral or filing of an open complaint, in its first state."""
    _complaint_open(complaint_status, f"{kind.value}s")
    first = FILING_START if kind is TrackKind.FILING else REFERRAL_START
    return TrackChange(from_status=None, to_status=first, event=_track_event(
        kind=kind, complaint_id=complaint_id, institution_id=institution_id, track_id=track_id, target=target,
        action="opened", from_status=None, to_status=first, now=now, source=source))


def track_transition(*, kind: TrackKind, complaint_id: str, complaint_status: str, institution_id: str,
                     track_id: str, target: str, status: str, action: TrackAction, now: datetime,
                     source: str) -> TrackChange:
    """A referral's or filing's next state after ``action``; 409 from a state that does not allow it,
    for an action of the other kind, or while the complaint itself is closed or withdrawn."""
    table = TRACK_TABLES[kind]
    if action not in table:
        raise InvalidTransition(f"a {kind.value} cannot be {_past(action)} (its actions: "
                                f"{', '.join(a.value for a in table)})", current_status=status, action=action.value)
    _complaint_open(complaint_status, f"{kind.value}s")
    allowed, target_status = table[action]
    if status not in allowed:
        raise InvalidTransition(f"a {kind.value} that is {status} cannot be {_past(action)} (allowed from: "
                                f"{', '.join(sorted(allowed))})", current_status=status, action=action.value)
    return TrackChange(from_status=status, to_status=target_status, event=_track_event(
        kind=kind, complaint_id=complaint_id, institution_id=institution_id, track_id=track_id, target=target,
        action=action.value, from_status=status, to_status=target_status, now=now, source=source))


# --- submission and erasure --------------------------------------------------------------------------


def submitted_event(*, complaint_id: str, institution_id: str, reference: str, channel: str,
                    respondent_states: list[str], urgency: str, now: datetime, source: str) -> CloudEvent:
    return COMPLAINT_SUBMITTED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now,
        data=ComplaintSubmitted(complaint_id=complaint_id, institution_id=institution_id, reference=reference,
                                channel=channel, submitted_at=now, respondent_states=respondent_states,
                                urgency="urgent" if urgency == "urgent" else "normal"))


def check_erasable(erased_at: datetime | None) -> None:
    """Erasure happens once (409 after)."""
    if erased_at is not None:
        raise InvalidTransition(f"the complaint was already erased on {erased_at.isoformat()}", slug="complaint-erased",
                                title="Complaint erased")


def erase(*, complaint_id: str, institution_id: str, erased_at: datetime | None, now: datetime, source: str,
          holders: Mapping[str, Iterable[str]] | None = None) -> list[CloudEvent]:
    """Erasure on request, once: its events (the key is destroyed by the service). ``holders``: the
    recipients of disclosures in force, with their grant ids: each is told in an event of its own that
    names it alone (and concerns it and the owner), so no recipient learns who else held the case; with
    none, one event naming no one."""
    check_erasable(erased_at)
    told: list[tuple[tuple[str, ...], list[GrantHolder]]] = [
        ((institution_id, recipient), [GrantHolder(institution_id=recipient, grant_ids=sorted(grants))])
        for recipient, grants in sorted((holders or {}).items())] or [((), [])]
    return [COMPLAINT_ERASED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now, concerns=concerns,
        data=ComplaintErased(complaint_id=complaint_id, institution_id=institution_id, erased_at=now,
                             recipients=recipients)) for concerns, recipients in told]


# What an erased complaint keeps in clear: its identity as a record, its state, and the respondent
# states (counted in the statistics, identifying no one). Everything else is emptied, and whatever
# was sealed is unreadable once the key is gone.
ERASED_CLEAR: dict[str, Any] = {
    "rights_invoked": [], "domestic_remedies": [], "other_procedures": [], "urgency": {}, "filer": {},
    "events_date": None, "events_continuing": False, "filing_date": None, "rights": [], "victims": [],
    "representative": None, "petitioner": None, "actors": [], "incidents": [], "relief": {}, "disclosure": {},
    "languages": {}, "no_other_procedures": False, "signed_on": None, "sealed": {}, "legacy_summary": None,
}


# --- statistics and duplicates: what the de-identified counts read ----------------------------------


def victims_count(victims: list[Mapping[str, Any]]) -> int:
    """Persons count one each; a group counts its stated size, or one when unknown."""
    return sum(int(v.get("group_size") or 1) if v.get("kind") == "group" else 1 for v in victims)


def act_types_of(incidents: list[Mapping[str, Any]]) -> list[str]:
    return sorted({str(code) for incident in incidents for code in incident.get("act_types") or []})


# --- completeness per forum -------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    requirement: Requirement
    pointer: str
    detail: str


def _has(part: Mapping[str, Any] | None, key: str) -> bool:
    """Whether a sealed (or clear) key of a clear half had a value."""
    if not part:
        return False
    return key in (part.get(PRESENT) or []) or _filled(part.get(key))


def _author(record: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    """Who files: the petitioner when there is one, else the (first) victim."""
    petitioner = record.get("petitioner")
    if petitioner:
        return "/petitioner", petitioner
    victims = record.get("victims") or []
    return "/victims/0", victims[0] if victims else None


def _check(record: Mapping[str, Any], sealed: frozenset[str], requirement: Requirement,
           vocabularies: Vocabularies) -> list[tuple[str, str]]:
    """(pointer, detail) for each thing ``requirement`` finds missing; [] when met or not applicable."""
    check, params = requirement.check, requirement.params
    victims = record.get("victims") or []
    representative = record.get("representative")
    remedies = record.get("domestic_remedies") or []
    if check == "victims":
        return [] if victims else [("/victims", "no alleged victim is named")]
    if check == "victims_field":
        key = str(params["field"])
        kinds = params.get("kinds", ["person"])
        return [(f"/victims/{i}/{key}", f"victim {i} has no {key.replace('_', ' ')}")
                for i, v in enumerate(victims) if v.get("kind", "person") in kinds and not _has(v, key)]
    if check == "victim_named_if_possible":
        named = any(_has(v, "name") for v in victims)
        return [] if named else [("/victims/0/name" if victims else "/victims", "no victim is named")]
    if check == "author_field":
        where, author = _author(record)
        key = str(params["field"])
        if author is None:
            return [(where, "the complaint names neither a petitioner nor a victim")]
        return [] if _has(author, key) else [(f"{where}/{key}", f"the author has no {key.replace('_', ' ')}")]
    if check == "author_contact":
        where, author = _author(record)
        wanted = set(params.get("kinds", ["email"]))
        holders = [h for h in (author, representative) if h]
        if any(wanted & set(h.get(CONTACT_KINDS) or []) for h in holders):
            return []
        return [(f"{where}/contacts", f"no {' or '.join(sorted(wanted))} for the author or the representative")]
    if check == "ngo_petitioner":
        petitioner = record.get("petitioner")
        if not petitioner or petitioner.get("kind") != "ngo":
            return []
        return [(f"/petitioner/{key}", f"an NGO petitioner needs its {key.replace('_', ' ')}")
                for key in ("legal_representative", "state_of_recognition") if not _has(petitioner, key)]
    if check == "representative_field":
        if not representative:
            return []
        key = str(params["field"])
        if key == "contacts":
            wanted = set(params.get("kinds", ["email", "phone"]))
            kinds = set(representative.get(CONTACT_KINDS) or [])
            return [("/representative/contacts", f"the representative has no {k}") for k in sorted(wanted - kinds)]
        return [] if _has(representative, key) else [(f"/representative/{key}", f"the representative has no {key}")]
    if check == "authority_signed":
        if not representative:
            return []
        authority = representative.get("authority") or {}
        found = []
        if authority.get("kind") not in ("signed_authority_form", "power_of_attorney"):
            found.append(("/representative/authority/kind", "no signed authority form or power of attorney"))
        for key, who in (("victim_signed_on", "the applicant"), ("representative_signed_on", "the representative")):
            if not authority.get(key):
                found.append((f"/representative/authority/{key}", f"no dated signature by {who}"))
        return found
    if check == "authority_or_justification":
        acting_for = bool(representative) or bool(record.get("petitioner"))
        if not acting_for:
            return []
        holder = representative or record.get("petitioner") or {}
        authority = holder.get("authority") or {}
        if authority.get("kind") not in (None, "none") or _has(authority, "justification"):
            return []
        where = "/representative" if representative else "/petitioner"
        return [(f"{where}/authority", "acting for the victim needs an authority, or the reason none can be given")]
    if check == "respondent_states":
        return [] if record.get("respondent_states") else [("/respondent_states", "no respondent state")]
    if check == "facts":
        narrated = "summary" in sealed or any(_has(i, "narrative") for i in record.get("incidents") or [])
        return [] if narrated else [("/summary", "no statement of the facts")]
    if check == "incidents_dated":
        incidents = record.get("incidents") or []
        if not incidents:
            return [("/incidents", "no incident with its date and place")]
        found = []
        for i, incident in enumerate(incidents):
            if not incident.get("start"):
                found.append((f"/incidents/{i}/start", f"incident {i} has no date"))
            if params.get("place", True) and not (_has(incident, "place") or incident.get("country")):
                found.append((f"/incidents/{i}/place", f"incident {i} has no place"))
        return found
    if check == "rights":
        systems = set(params.get("systems", []))
        for right in record.get("rights") or []:
            instrument = vocabularies.rights.instrument(str(right.get("instrument")))
            if instrument is not None and (not systems or instrument.system in systems):
                return []
        if not systems and record.get("rights_invoked"):
            return []
        return [("/rights", "no right invoked under " + (", ".join(sorted(systems)) or "any") + " instruments")]
    if check == "exhaustion":
        done = any(r.get("exhausted") and (r.get("final_decision_date") or r.get("notification_date"))
                   for r in remedies)
        claimed = any(r.get("exception_claimed") for r in remedies)
        return [] if done or claimed else [("/domestic_remedies", "no exhausted remedy with its final decision, "
                                                                   "and no exception claimed")]
    if check == "remedy_date":
        key = str(params["field"])
        if any(r.get("exception_claimed") for r in remedies):
            return []
        if any(r.get("exhausted") and r.get(key) for r in remedies):
            return []
        return [("/domestic_remedies", f"no {key.replace('_', ' ')} of the final domestic decision")]
    if check == "other_procedures":
        return [] if record.get("other_procedures") or record.get("no_other_procedures") else [
            ("/no_other_procedures", "the complaint does not say whether the matter was put to another "
                                     "international procedure")]
    if check == "disclosure_to_state":
        disclosure = record.get("disclosure") or {}
        choice = disclosure.get("respondent_state", "undecided")
        if choice == "undecided":
            return [("/disclosure/respondent_state", "whether the identity may be disclosed to the state is not "
                                                     "recorded")]
        if choice == "withheld" and not _has(disclosure, "reasons"):
            return [("/disclosure/reasons", "identity withheld from the state without the reasons")]
        return []
    if check == "relief":
        return [] if (record.get("relief") or {}).get("sought") else [("/relief/sought", "no remedy sought")]
    if check == "language":
        code = (record.get("languages") or {}).get("submission")
        if code and is_un_official_language(str(code)):
            return []
        return [("/languages/submission", "the complaint's language is not recorded as a UN official language")]
    if check == "signed":
        return [] if record.get("signed_on") else [("/signed_on", "the complaint is not recorded as signed")]
    if check == "actor_role":
        role = str(params["role"])
        if any(a.get("role") == role for a in record.get("actors") or []):
            return []
        if role == "authority_informed" and remedies:
            return []
        return [("/actors", f"no actor with the role {role}")]
    raise ValueError(f"unknown completeness check {check!r}")  # the form loader refuses these


@dataclass(frozen=True)
class Completeness:
    forum: str
    complete: bool
    missing: list[Missing]
    met: list[Requirement]


def completeness(form: Form, record: Mapping[str, Any], *, sealed: Iterable[str],
                 vocabularies: Vocabularies) -> Completeness:
    """What ``form`` requires that the complaint (its clear half) lacks, item by item, each with its
    rule. "If possible" items are listed but do not make the complaint incomplete."""
    sealed_sections = frozenset(sealed)
    missing: list[Missing] = []
    met: list[Requirement] = []
    for requirement in form.requirement:
        found = _check(record, sealed_sections, requirement, vocabularies)
        if found:
            missing += [Missing(requirement=requirement, pointer=p, detail=d) for p, d in found]
        else:
            met.append(requirement)
    complete = not any(m.requirement.level == "required" for m in missing)
    return Completeness(forum=form.forum, complete=complete, missing=missing, met=met)


def is_draft(forms: Iterable[Form], record: Mapping[str, Any], *, sealed: Iterable[str],
             vocabularies: Vocabularies) -> bool:
    """A draft: complete for no forum yet. It is accepted and kept all the same."""
    sealed_sections = frozenset(sealed)
    return not any(completeness(f, record, sealed=sealed_sections, vocabularies=vocabularies).complete
                   for f in forms)
