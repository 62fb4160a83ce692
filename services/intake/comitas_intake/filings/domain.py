"""Pure decisions about filings: no session, no clock, no NATS.

- what a body's form asks for, section by section in its own order, filled from the complaint's view
  with only the categories of data consent allows (:func:`prepare`): every item is present, missing or
  withheld (consent does not cover it), with its rule;
- whether the body would carry the victim's identity to the state without consent (OP-CEDAW Art 6(1)),
  or needs an identity the consent does not allow: the filing is then blocked, with the reason
  (:func:`blocks`);
- the body's confidentiality request where the victim asked for it (:func:`confidentiality_request`);
- the translation a filing needs (:func:`translation_needed`);
- the lifecycle (:data:`TRANSITIONS`, :func:`transition`), exhaustively tabled: a filing cannot be
  marked ready while a required item is missing, while blocked, or while its translation is not done;
- Special Procedures: which mandates a complaint concerns (:func:`propose_mandates`) and the reminder
  to check the public communications reports after the publication delay (:func:`publication_check`);
- what a filing's proceedings and compliance share with it (they reach it through ``filings.service``):
  the latest day anywhere on Earth (:func:`latest_today`), a 422 for one field (:func:`invalid_input`),
  a period of the bodies' rules added to a day (:func:`add_period`), and a deadline of the filing asked
  of notifications or withdrawn as met (:func:`deadline_requested`, :func:`deadline_met`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from comitas_shared.errors import InvalidInput, InvalidTransition
from comitas_shared.events.catalogue import (
    COMPLAINT_FILING_CHANGED,
    ComplaintFilingChanged,
)
from comitas_shared.events.envelope import CloudEvent

from ..case_deadlines import (
    add_period,
    deadline_requested,
    invalid_input,
)
from .rules import Body, Citation, Form, Item, Mandate

# --- reading the complaint ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_text(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value if v not in (None, "", [], {}))
    return str(value)


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {}, False)


def _person_contact(person: Mapping[str, Any] | None) -> list[str]:
    if not person:
        return []
    lines = [f"Address: {a.get('text')}" + (f" ({a['country']})" if a.get("country") else "")
             for a in person.get("addresses") or [] if a.get("text")]
    lines += [f"{str(c.get('kind', '')).capitalize()}: {c.get('value')}" for c in person.get("contacts") or []
              if c.get("value")]
    return lines


def _author(view: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Who files: the petitioner when there is one, else the representative, else the first victim."""
    victims = view.get("victims") or []
    return view.get("petitioner") or view.get("representative") or (victims[0] if victims else None)


def _facts(view: Mapping[str, Any]) -> list[str]:
    lines = [str(view["summary"])] if view.get("summary") else []
    for index, incident in enumerate(view.get("incidents") or [], start=1):
        when = incident.get("start") or "date unknown"
        if incident.get("end"):
            when += f" to {incident['end']}"
        where = ", ".join(str(p) for p in (incident.get("place"), incident.get("country")) if p) or "place unknown"
        text = f"Incident {index} ({when}, {where})"
        if incident.get("narrative"):
            text += f": {incident['narrative']}"
        if incident.get("narrative") or incident.get("start"):
            lines.append(text)
    return lines


def extract(view: Mapping[str, Any], name: str, annexes: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """The lines an item's ``field`` reads from the complaint's full view; [] when it holds nothing."""
    victims = [v for v in view.get("victims") or [] if isinstance(v, dict)]
    if name.startswith("victims."):
        key = name.split(".", 1)[1]
        if key == "addresses":
            return [line for i, v in enumerate(victims, start=1) for line in
                    (f"Victim {i}: {line}" for line in _person_contact({"addresses": v.get("addresses")}))]
        return [f"Victim {i}: {_text(v.get(key))}" for i, v in enumerate(victims, start=1) if _filled(v.get(key))]
    if name.startswith("representative.") or name.startswith("author.") or name == "petitioner.ngo":
        who, key = name.split(".", 1)
        person = _author(view) if who == "author" else view.get("representative" if who == "representative"
                                                                else "petitioner")
        if not person:
            return []
        if key == "contact":
            return _person_contact(person)
        if key == "authority":
            authority = person.get("authority") or {}
            signed = [f"{who} signed on {authority[k]}" for k, who in
                      (("victim_signed_on", "Applicant"), ("representative_signed_on", "Representative"))
                      if authority.get(k)]
            return [f"Authority: {authority['kind'].replace('_', ' ')}", *signed] if len(signed) == 2 else []
        if key == "ngo":
            if person.get("kind") != "ngo":
                return ["(the petitioner is not an NGO)"]
            parts = [_text(person.get(k)) for k in ("legal_representative", "state_of_recognition") if person.get(k)]
            return [f"Legal representative and State of recognition: {', '.join(parts)}"] if len(parts) == 2 else []
        value = person.get(key) or (person.get("organisation") if key == "name" else None)
        return [_text(value)] if _filled(value) else []
    if name == "respondent_states":
        return [", ".join(view.get("respondent_states") or [])] if view.get("respondent_states") else []
    if name == "facts":
        return _facts(view)
    if name == "rights":
        lines = [f"{r.get('instrument')} Art {r.get('article')}" + (f": {r['note']}" if r.get("note") else "")
                 for r in view.get("rights") or []]
        return lines or [str(r) for r in view.get("rights_invoked") or []]
    if name == "domestic_remedies":
        lines = []
        for remedy in view.get("domestic_remedies") or []:
            text = str(remedy.get("description", ""))
            for key, label in (("final_decision_date", "final decision"), ("notification_date", "notified"),
                               ("exception_claimed", "exception claimed")):
                if remedy.get(key):
                    text += f"; {label}: {remedy[key]}"
            if remedy.get("exhausted") or remedy.get("exception_claimed"):
                lines.append(text)
        return lines
    if name == "other_procedures":
        if view.get("no_other_procedures"):
            return ["The matter has not been submitted to another international procedure."]
        return [f"{p.get('mechanism')}: {p.get('status')}" for p in view.get("other_procedures") or []]
    if name == "relief":
        relief = view.get("relief") or {}
        lines = [", ".join(str(s).replace("_", " ") for s in relief.get("sought") or [])] if relief.get("sought") else []
        return lines + ([str(relief["details"])] if relief.get("details") and lines else [])
    if name == "urgency":
        urgency = view.get("urgency") or {}
        flags = [k.replace("_", " ") for k in ("imminent_removal", "detention", "disappearance", "risk_to_life",
                                               "ongoing_harm", "threats", "reprisals_risk") if urgency.get(k)]
        if urgency.get("level") != "urgent" and not flags:
            return []
        lines = [f"Urgent: {', '.join(flags) or 'yes'}"]
        if urgency.get("removal_date"):
            lines.append(f"Scheduled removal: {urgency['removal_date']}")
        return lines + ([str(urgency["details"])] if urgency.get("details") else [])
    if name == "disclosure.respondent_state":
        choice = (view.get("disclosure") or {}).get("respondent_state", "undecided")
        return [] if choice == "undecided" else [f"Identity disclosed to the State: {choice}"]
    if name.startswith("actors."):
        role = name.split(".", 1)[1]
        lines = [_text({k: a.get(k) for k in ("name", "kind", "state", "description")})
                 for a in view.get("actors") or [] if a.get("role") == role]
        if not lines and role == "authority_informed":
            lines = [f"Domestic remedy: {r.get('description')}" for r in view.get("domestic_remedies") or []]
        return lines
    if name == "annexes":
        return [f"{i}. {a.get('title')}" + (f" ({a['date']})" if a.get("date") else "")
                + (f", {a['pages']} p." if a.get("pages") else "") for i, a in enumerate(annexes, start=1)]
    raise ValueError(f"unknown field {name!r}")  # the rules loader refuses these


# --- preparing --------------------------------------------------------------------------------------


class ItemState(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    WITHHELD = "withheld"  # the complaint has it, but consent does not let it go to this body
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class PreparedItem:
    item: Item
    state: ItemState
    lines: tuple[str, ...]
    detail: str | None = None

    @property
    def blocking(self) -> bool:
        """Whether this item keeps the filing from being ready."""
        return self.state in (ItemState.MISSING, ItemState.WITHHELD) and self.item.level != "if_possible"


@dataclass(frozen=True)
class PreparedSection:
    id: str
    title: str
    items: tuple[PreparedItem, ...]


@dataclass(frozen=True)
class Block:
    code: str
    reason: str
    rule: Citation | None = None


@dataclass(frozen=True)
class Preparation:
    body: Body
    form: Form
    sections: tuple[PreparedSection, ...]
    blocks: tuple[Block, ...]
    confidentiality: str | None
    mandates: tuple[Mandate, ...] = ()

    @property
    def items(self) -> list[PreparedItem]:
        return [item for section in self.sections for item in section.items]

    @property
    def missing(self) -> list[PreparedItem]:
        return [i for i in self.items if i.state in (ItemState.MISSING, ItemState.WITHHELD)]

    @property
    def complete(self) -> bool:
        return not any(i.blocking for i in self.items)


def _applies(item: Item, view: Mapping[str, Any]) -> bool:
    if item.level != "if_any":
        return True
    who = item.field.split(".", 1)[0]
    return bool(view.get(who))


def prepare(body: Body, form: Form, view: Mapping[str, Any], *, allowed: Iterable[str],
            annexes: Sequence[Mapping[str, Any]] = (), mandates: Sequence[Mandate] = ()) -> Preparation:
    """The filing for ``body`` from the complaint's full ``view``, section by section in the form's order.
    An item of a category consent does not ``allowed`` is withheld: its content is not included."""
    consented = frozenset(allowed) | {"none"}
    sections = []
    for section in form.section:
        items = []
        for item in section.item:
            if not _applies(item, view):
                items.append(PreparedItem(item, ItemState.NOT_APPLICABLE, ()))
                continue
            lines = tuple(extract(view, item.field, annexes))
            if not lines:
                items.append(PreparedItem(item, ItemState.MISSING, (), "the complaint does not have it"))
            elif item.category not in consented:
                items.append(PreparedItem(item, ItemState.WITHHELD, (),
                                          f"the victim's consent does not cover {item.category} data for {body.name}"))
            else:
                items.append(PreparedItem(item, ItemState.PRESENT, lines))
        sections.append(PreparedSection(section.id, section.title, tuple(items)))
    return Preparation(body=body, form=form, sections=tuple(sections), blocks=tuple(blocks(body, view, consented)),
                       confidentiality=confidentiality_request(body, view), mandates=tuple(mandates))


def blocks(body: Body, view: Mapping[str, Any], allowed: Iterable[str]) -> list[Block]:
    """Why the filing cannot go to ``body`` at all, whatever else is done: the body would transmit the
    victim's identity to the state and the victim did not consent to it (OP-CEDAW Art 6(1)), or the body
    accepts no anonymous filing and consent does not let the identity go to it."""
    found = []
    disclosure = view.get("disclosure") or {}
    if body.identity_to_state == "only_with_consent" and disclosure.get("respondent_state") != "allowed":
        rule = body.identity_to_state_rule
        found.append(Block(
            "identity_to_state_without_consent",
            f"{body.name} transmits a communication to the State only if the victim consents to their identity "
            f"being disclosed to it ({rule.provision if rule else 'its rules'}); the complaint records "
            f"'{disclosure.get('respondent_state', 'undecided')}' for disclosure to the respondent State",
            rule))
    if not body.anonymous_accepted and "identity" not in set(allowed):
        found.append(Block("identity_not_consented",
                           f"{body.name} accepts no anonymous filing, and the victim's consent does not let their "
                           "identity go to it (record the consent, purpose file_with_mechanism)"))
    return found


def confidentiality_request(body: Body, view: Mapping[str, Any]) -> str | None:
    """The body's confidentiality request when the victim asked for it (or always, for a source)."""
    request = body.confidentiality
    if request is None:
        return None
    disclosure = view.get("disclosure") or {}
    if request.when == "always" or disclosure.get(request.when) == "withheld":
        return f"{request.request} [{request.provision}]"
    return None


class Translation(StrEnum):
    NOT_NEEDED = "not_needed"
    NEEDED = "needed"
    IN_PROGRESS = "in_progress"
    DONE = "done"


def translation_needed(language: str | None, body: Body) -> bool:
    """Whether a filing written in ``language`` must be translated for ``body`` (unknown: yes)."""
    return language is None or language not in body.languages


def translation_status(language: str | None, body: Body, given: Translation | None) -> Translation:
    """The filing's translation status: not needed when the body accepts the language; otherwise what
    the officer recorded, or ``needed``; 422 for ``not_needed`` where a translation is needed."""
    if not translation_needed(language, body):
        return Translation.NOT_NEEDED
    if given is Translation.NOT_NEEDED:
        raise InvalidInput(f"{body.name} accepts {', '.join(body.languages)} ({body.languages_note}): a filing in "
                           f"{language or 'an unknown language'} needs a translation", slug="validation-error",
                           title="Validation error", errors=[{"pointer": "/translation", "detail": "needed"}])
    return given or Translation.NEEDED


# --- lifecycle ------------------------------------------------------------------------------------------


class Status(StrEnum):
    PREPARING = "preparing"
    READY = "ready"
    FILED = "filed"
    REGISTERED = "registered"
    DECIDED = "decided"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    MARK_READY = "mark_ready"
    REOPEN = "reopen"
    FILE = "file"
    REGISTER = "register"
    DECIDE = "decide"
    REJECT = "reject"
    WITHDRAW = "withdraw"


# preparing ⇄ ready → filed (date, channel) → registered (the body's reference) → decided; the body may
# reject a filed or registered filing; the complainant may withdraw it until it is decided.
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.MARK_READY: (frozenset({Status.PREPARING}), Status.READY),
    Action.REOPEN: (frozenset({Status.READY}), Status.PREPARING),
    Action.FILE: (frozenset({Status.READY}), Status.FILED),
    Action.REGISTER: (frozenset({Status.FILED}), Status.REGISTERED),
    Action.DECIDE: (frozenset({Status.REGISTERED}), Status.DECIDED),
    Action.REJECT: (frozenset({Status.FILED, Status.REGISTERED}), Status.REJECTED),
    Action.WITHDRAW: (frozenset({Status.PREPARING, Status.READY, Status.FILED, Status.REGISTERED}), Status.WITHDRAWN),
}
# The actions that need the complaint's content checked again (the service prepares it first).
NEEDS_PREPARATION = frozenset({Action.MARK_READY, Action.FILE})


@dataclass(frozen=True)
class Change:
    """What a filing's transition decided."""

    from_status: Status
    to_status: Status
    action: Action
    on: date | None
    channel: str | None
    reference: str | None
    events: list[CloudEvent] = field(default_factory=list)


def transition(*, status: str, action: Action, body: Body, preparation: Preparation | None,
               translation: Translation, on: date | None, channel: str | None, reference: str | None,
               current_reference: str | None, today: date) -> Change:
    """The filing's next status after ``action``: 409 from a status that does not allow it, or when
    marking ready (or filing) while an item the body requires is missing, while the filing is blocked, or
    while its translation is not done; 422 for a filing without its date and channel, a channel the body
    does not take, a day in the future, or a registration without the body's reference."""
    current = Status(status)
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise InvalidTransition(f"a filing that is {current.value} cannot take the action {action.value} (allowed "
                                f"from: {', '.join(sorted(s.value for s in allowed))})",
                                current_status=current.value, action=action.value)
    if on is not None and on > today:
        raise invalid_input(f"{on.isoformat()} is in the future", "/on")
    if action in NEEDS_PREPARATION:
        if preparation is None:  # the service always prepares first; a caller that did not is a bug
            raise ValueError("marking ready or filing needs the preparation")
        if preparation.blocks:
            raise InvalidTransition("the filing is blocked: " + "; ".join(b.reason for b in preparation.blocks),
                                    slug="filing-blocked", title="Filing blocked", current_status=current.value,
                                    action=action.value, blocks=[b.code for b in preparation.blocks])
        missing = [i for i in preparation.items if i.blocking]
        if missing:
            raise InvalidTransition(
                f"{len(missing)} item(s) {body.name} requires are missing or not covered by consent: "
                + "; ".join(f"{i.item.item} {i.item.label}" for i in missing), slug="filing-incomplete",
                title="Filing incomplete", current_status=current.value, action=action.value,
                missing=[i.item.id for i in missing])
        if translation not in (Translation.NOT_NEEDED, Translation.DONE):
            raise InvalidTransition(f"the translation for {body.name} is {translation.value}", slug="filing-untranslated",
                                    title="Translation not done", current_status=current.value, action=action.value)
    if action is Action.FILE:
        if channel is None or on is None:
            raise invalid_input("filing records the day and the channel it was sent by",
                                "/channel" if channel is None else "/on")
        if channel not in body.channels:
            raise invalid_input(f"{body.name} takes filings by {', '.join(body.channels)} "
                                f"({body.channels_rule.provision})", "/channel")
    elif channel is not None:
        raise invalid_input("only filing records a channel", "/channel")
    if action is Action.REGISTER and not (reference or current_reference):
        raise invalid_input("registration records the body's reference", "/reference")
    return Change(from_status=current, to_status=target, action=action, on=on, channel=channel, reference=reference)


def filing_event(*, complaint_id: str, institution_id: str, filing_id: str, body: Body, action: str,
                 from_status: str | None, to_status: str, now: datetime, source: str) -> CloudEvent:
    return COMPLAINT_FILING_CHANGED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now,
        data=ComplaintFilingChanged(complaint_id=complaint_id, institution_id=institution_id, filing_id=filing_id,
                                    mechanism=body.mechanism, action=action, from_status=from_status,
                                    to_status=to_status, changed_at=now))


# --- Special Procedures -----------------------------------------------------------------------------------


class Profile(StrEnum):
    """What the officer knows of the victim that decides a mandate (not in the complaint's clear facts)."""

    HUMAN_RIGHTS_DEFENDER = "human_rights_defender"
    JOURNALIST = "journalist"
    WOMAN_OR_GIRL = "woman_or_girl"


@dataclass(frozen=True)
class Proposal:
    mandate: Mandate
    because: tuple[str, ...]


def propose_mandates(mandates: Iterable[Mandate], *, act_types: Iterable[str], rights: Iterable[tuple[str, str]],
                     profiles: Iterable[str], systems: Iterable[str] = ("un",)) -> list[Proposal]:
    """The mandates a complaint concerns, each with why: a type of act under one of its codes (by
    prefix), a right it covers, or a profile of the victim; only mandates of ``systems``."""
    acts, wanted, who, within = list(act_types), set(rights), set(profiles), set(systems)
    found = []
    for mandate in mandates:
        if mandate.system not in within:
            continue
        because = [f"type of act {a} (under {p})" for a in acts for p in mandate.acts if a.startswith(p)]
        because += [f"{i} Art {a}" for i, a in mandate.rights if (i, a) in wanted]
        because += [f"the victim is a {p.replace('_', ' ')}" for p in mandate.profiles if p in who]
        if because:
            found.append(Proposal(mandate, tuple(dict.fromkeys(because))))
    return found


def check_mandates(body: Body, chosen: Sequence[str], known: Mapping[str, Mandate]) -> tuple[str, ...]:
    """The mandates a filing is addressed to: one or more for a body that takes them (a submission to
    Special Procedures goes to several at once), none for any other."""
    if not body.takes_mandates:
        if chosen:
            raise invalid_input(f"{body.name} is not addressed to mandates", "/mandates")
        return ()
    if not chosen:
        raise invalid_input("choose at least one mandate (GET .../mandate-proposals)", "/mandates")
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise invalid_input(f"unknown mandate(s): {', '.join(unknown)}", "/mandates")
    return tuple(dict.fromkeys(chosen))


# --- deadlines of a filing: its publication check, its proceedings' limits, the state's report ----------


PUBLICATION_CHECK = "publication_check"


def publication_check(*, body: Body, filing_id: str, complaint_id: str, institution_id: str, filed_on: date,
                      mandates: Sequence[str], now: datetime, source: str) -> list[CloudEvent]:
    """The reminder, through notifications, to check the public communications reports once the
    publication delay after the submission has passed (nothing for a body without one). Its rule's status
    is carried with it: an unconfirmed delay is a reminder to check, never a legal limit (``hard`` false).
    The proceedings' step that answers it withdraws it as met."""
    period = body.publication_check
    if period is None:
        return []
    return [deadline_requested(
        filing_id=filing_id, deadline=PUBLICATION_CHECK, kind="publication_check",
        title=f"{period.what.capitalize()} ({', '.join(mandates)})", complaint_id=complaint_id,
        institution_id=institution_id, mechanism=body.mechanism,
        last_day=add_period(filed_on, period.amount, period.unit),
        calendar=f"{period.amount} {period.unit.replace('_', ' ')} from the submission", hard=False, rule=period,
        now=now, source=source)]
