"""E-mails from events: one event, or a day's digest, in the reader's language and time zone.

Every sentence is a catalogue message with named placeholders (``_("… %(case)s …", case=…)``), never
pieces glued together, so a translator sees whole sentences and may reorder them. Dates are Babel's
for the language; an instant is shown in the reader's time zone, a deadline's last day in the zone the
law counts it in (and the reader's too when it differs). Templates (``templates/``) only lay out what
is computed here, in plain text and in HTML (autoescaped).

Events carry no identifying data of victims (the catalogue's rule), and a message shows only what the
event carries: ids, references, codes, dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr, parseaddr
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time
from jinja2 import Environment, PackageLoader, StrictUndefined

from comitas_shared.events.catalogue import DEADLINE_REMINDER

from .catalogue import translations


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


TYPE_LABELS: dict[str, str] = {
    "comitas.institution.registered": N_("Institution registered in the directory"),
    "comitas.institution.updated": N_("Directory entry changed"),
    "comitas.complaint.submitted": N_("Complaint submitted"),
    "comitas.complaint.assessed": N_("Admissibility assessed"),
    "comitas.complaint.status_changed": N_("Complaint status changed"),
    "comitas.complaint.filing_changed": N_("Filing with a mechanism changed"),
    "comitas.complaint.referral_changed": N_("Referral record changed"),
    "comitas.complaint.erased": N_("Complaint erased"),
    "comitas.deadline.requested": N_("Deadline set or moved"),
    "comitas.deadline.withdrawn": N_("Deadline withdrawn"),
    "comitas.deadline.paused": N_("Deadline paused"),
    "comitas.deadline.resumed": N_("Deadline resumed"),
    "comitas.deadline.extended": N_("Deadline extended"),
    "comitas.deadline.reminder": N_("Deadline reminder"),
    "comitas.consent.withdrawn": N_("Consent withdrawn"),
    "comitas.evidence.added": N_("Evidence added"),
    "comitas.mla.issued": N_("MLA request issued"),
    "comitas.mla.acknowledged": N_("MLA request acknowledged"),
    "comitas.mla.clarification_requested": N_("Clarification of an MLA request asked"),
    "comitas.mla.clarified": N_("MLA request clarified"),
    "comitas.mla.recognised": N_("MLA request recognised"),
    "comitas.mla.result_returned": N_("Results of an MLA request returned"),
    "comitas.mla.executed": N_("MLA request executed"),
    "comitas.mla.refused": N_("MLA request refused"),
    "comitas.mla.postponed": N_("MLA request postponed"),
    "comitas.mla.resumed": N_("MLA request resumed"),
    "comitas.mla.withdrawn": N_("MLA request withdrawn"),
    "comitas.mla.recognition_extended": N_("Time to recognise an MLA request extended"),
    "comitas.mla.execution_consulted": N_("Consultation on executing an MLA request"),
    "comitas.mla.status_requested": N_("Status of an MLA request asked"),
    "comitas.mla.status_answered": N_("Status of an MLA request answered"),
}

REMINDER = DEADLINE_REMINDER.type
_CASE_FIELDS = ("case_ref", "complaint_id", "request_id", "referral_id")


@dataclass(frozen=True)
class Reader:
    """Who reads the message: the institution's language, time zone and name."""

    language: str
    time_zone: str
    institution_name: str | None = None


@dataclass(frozen=True)
class Composed:
    """A rendered message, before it gets its envelope (addresses, ids, date)."""

    language: str
    subject: str
    text: str
    html: str


@dataclass
class EventView:
    headline: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Speaker:
    """Sentences and dates in one language: ``_`` and ``ngettext`` are the extraction keywords."""

    def __init__(self, language: str, time_zone: str) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self.zone_name = time_zone
        self.zone = ZoneInfo(time_zone)
        self._catalogue = translations(language)

    def _(self, message: str, **values: Any) -> str:
        text = self._catalogue.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, num: int, **values: Any) -> str:
        return self._catalogue.ngettext(singular, plural, num) % {"num": num, **values}

    def moment(self, instant: datetime, zone: str | None = None) -> str:
        """A date and time in ``zone`` (the reader's by default), with the zone named."""
        tz = ZoneInfo(zone) if zone else self.zone
        local = instant.astimezone(tz)
        day = format_date(local.date(), "long", locale=self.locale)
        hour = format_time(local, "short", locale=self.locale)
        pattern = str(self.locale.datetime_formats["long"]).replace("'", "")
        return self._("%(moment)s (%(zone)s)", moment=pattern.replace("{0}", hour).replace("{1}", day),
                      zone=zone or self.zone_name)

    def day(self, value: date) -> str:
        return format_date(value, "full", locale=self.locale)

    def type_label(self, event_type: str) -> str:
        label = TYPE_LABELS.get(event_type)
        return self._(label) if label else event_type


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _case_of(subject: str | None, data: Mapping[str, Any]) -> str | None:
    for name in _CASE_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return subject


def _parse_day(value: object) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _parse_instant(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def reminder_headline(s: Speaker, reminder: str, title: str) -> str:
    if reminder.startswith("d") and reminder[1:].isdigit():
        return s.ngettext("The deadline “%(title)s” ends in %(num)d day.",
                          "The deadline “%(title)s” ends in %(num)d days.", int(reminder[1:]), title=title)
    if reminder in {"day", "due"}:
        return s._("The deadline “%(title)s” ends today.", title=title)
    if reminder == "overdue":
        return s._("The deadline “%(title)s” has passed.", title=title)
    return s._("The deadline “%(title)s” ends soon.", title=title)


def reminder_subject(s: Speaker, reminder: str, title: str) -> str:
    if reminder.startswith("d") and reminder[1:].isdigit():
        return s.ngettext("[Comitas] Deadline in %(num)d day: %(title)s",
                          "[Comitas] Deadline in %(num)d days: %(title)s", int(reminder[1:]), title=title)
    if reminder in {"day", "due"}:
        return s._("[Comitas] Deadline today: %(title)s", title=title)
    if reminder == "overdue":
        return s._("[Comitas] Deadline passed: %(title)s", title=title)
    return s._("[Comitas] Deadline soon: %(title)s", title=title)


def _reminder_view(s: Speaker, subject: str | None, data: Mapping[str, Any]) -> EventView:
    title = str(data.get("title") or data.get("deadline_key") or "")
    view = EventView(headline=reminder_headline(s, str(data.get("reminder") or ""), title))
    case = _case_of(subject, data)
    if case:
        view.facts.append((s._("Case"), case))
    zone = str(data.get("time_zone") or "") or None
    last_day = _parse_day(data.get("last_day"))
    due_at = _parse_instant(data.get("due_at"))
    if last_day is not None and zone is not None:
        counted_in = _zone(zone)
        if due_at is not None and counted_in is not None:
            ends = format_time(due_at.astimezone(counted_in), "short", locale=s.locale)
            view.facts.append((s._("Last day"), s._("%(day)s, until %(time)s (%(zone)s)",
                                                     day=s.day(last_day), time=ends, zone=zone)))
        else:
            view.facts.append((s._("Last day"), s._("%(day)s (%(zone)s)", day=s.day(last_day), zone=zone)))
    if due_at is not None and zone != s.zone_name:
        view.facts.append((s._("Ends, in your time zone"), s.moment(due_at)))
    if data.get("mechanism"):
        view.facts.append((s._("Mechanism"), str(data["mechanism"])))
    rule = data.get("rule")
    if isinstance(rule, Mapping):
        if rule.get("provision"):
            view.facts.append((s._("Rule"), str(rule["provision"])))
        if rule.get("source"):
            view.facts.append((s._("Source"), str(rule["source"])))
    elif data.get("kind"):
        view.facts.append((s._("Kind of deadline"), str(data["kind"])))
    if data.get("hard") is False:
        view.notes.append(s._("The time limit is not strict: a late step may still be accepted."))
    return view


def _generic_view(s: Speaker, event_type: str, subject: str | None, data: Mapping[str, Any]) -> EventView:
    label = s.type_label(event_type)
    case = _case_of(subject, data)
    headline = s._("%(event)s, case %(case)s", event=label, case=case) if case else label
    view = EventView(headline=headline)
    if case:
        view.facts.append((s._("Case"), case))
    if data.get("reference") and data.get("reference") != case:
        view.facts.append((s._("Reference"), str(data["reference"])))
    if data.get("to_status"):
        if data.get("from_status"):
            view.facts.append((s._("Status"), s._("from %(before)s to %(after)s", before=str(data["from_status"]),
                                                   after=str(data["to_status"]))))
        else:
            view.facts.append((s._("Status"), str(data["to_status"])))
    elif data.get("state"):
        view.facts.append((s._("Status"), str(data["state"])))
    if data.get("mechanism"):
        view.facts.append((s._("Mechanism"), str(data["mechanism"])))
    if data.get("urgency") == "urgent":
        view.notes.append(s._("Marked urgent."))
    return view


def event_view(s: Speaker, event_type: str, subject: str | None, data: Mapping[str, Any],
               at: datetime | None) -> EventView:
    view = _reminder_view(s, subject, data) if event_type == REMINDER else _generic_view(s, event_type, subject, data)
    if at is not None:
        view.facts.append((s._("When"), s.moment(at)))
    return view


@cache
def _environment(html: bool) -> Environment:
    return Environment(loader=PackageLoader(__package__, "templates"), autoescape=html, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _render(name: str, s: Speaker, context: dict[str, Any]) -> tuple[str, str]:
    rendered = []
    for html in (False, True):
        template = _environment(html).get_template(f"{name}.{'html' if html else 'txt'}")
        # The language's ``_`` is passed in the context, not installed on a shared environment: two
        # languages rendered at once cannot mix.
        rendered.append(template.render(_=s._, ngettext=s.ngettext, language=s.language, **context))
    return rendered[0], rendered[1]


def render_event(*, event_type: str, subject: str | None, data: Mapping[str, Any], at: datetime | None,
                 reader: Reader, subscription_id: str) -> Composed:
    s = Speaker(reader.language, reader.time_zone)
    view = event_view(s, event_type, subject, data, at)
    if event_type == REMINDER:
        title = str(data.get("title") or data.get("deadline_key") or "")
        mail_subject = reminder_subject(s, str(data.get("reminder") or ""), title)
    else:
        case = _case_of(subject, data)
        label = s.type_label(event_type)
        mail_subject = (s._("[Comitas] %(event)s, case %(case)s", event=label, case=case) if case
                        else s._("[Comitas] %(event)s", event=label))
    text, html = _render("event", s, {"view": view, "reader": reader, "subscription_id": subscription_id,
                                      "title": mail_subject})
    return Composed(language=s.language, subject=mail_subject, text=text, html=html)


@dataclass(frozen=True)
class DigestEntry:
    event_type: str
    subject: str | None
    data: Mapping[str, Any]
    at: datetime | None


def render_digest(*, entries: Iterable[DigestEntry], start: datetime, end: datetime, reader: Reader,
                  subscription_id: str) -> Composed:
    s = Speaker(reader.language, reader.time_zone)
    views = [event_view(s, e.event_type, e.subject, e.data, e.at) for e in entries]
    mail_subject = s.ngettext("[Comitas] Daily digest: %(num)d event", "[Comitas] Daily digest: %(num)d events",
                              len(views))
    intro = s._("What happened from %(start)s to %(end)s.", start=s.moment(start), end=s.moment(end))
    text, html = _render("digest", s, {"views": views, "intro": intro, "reader": reader, "title": mail_subject,
                                       "subscription_id": subscription_id, "count": len(views)})
    return Composed(language=s.language, subject=mail_subject, text=text, html=html)


def message_id_for(delivery_id: str, domain: str) -> str:
    """The same for every attempt and every redelivery of a delivery: a receiving system (or a person)
    recognises a resend after a crash as the same message."""
    return f"<{delivery_id}@{domain}>"


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "comitas.localhost"


def to_message(composed: Composed, *, sender: str, recipients: Iterable[str], message_id: str, sent_at: datetime,
               delivery_id: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = composed.subject
    message["From"] = sender
    message["To"] = ", ".join(formataddr(("", r)) for r in recipients)
    message["Date"] = rfc2822_date(sent_at)
    message["Message-ID"] = message_id
    # RFC 3834: an automatic message; autoresponders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Comitas-Delivery"] = delivery_id
    message.set_content(composed.text)
    message.add_alternative(composed.html, subtype="html")
    # After the parts: setting the content replaces every Content-* header (RFC 3282 for this one).
    message["Content-Language"] = composed.language
    return message
