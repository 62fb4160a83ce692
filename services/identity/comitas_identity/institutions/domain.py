"""What an institution's directory entry is, and what a change to it may be. No I/O but reading the
reference data shipped with the code (ISO 3166 and 639 from pycountry, IANA zones from tzdata, CLDR's
zones per territory from babel, the mandate subject areas)."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import cache
from typing import Any, Literal, get_args

import pycountry
from babel.core import get_global

from comitas_shared import randomness
from comitas_shared.errors import InvalidInput

from .vocabulary import shipped as shipped_subject_areas

InstitutionKind = Literal[
    "ombudsperson",          # an ombudsperson office (Venice Principles)
    "nhri",                  # a national human rights institution (Paris Principles)
    "equality_body",         # a body for the promotion of equal treatment (EU equality directives)
    "regional_commission",   # a regional human rights commission (IACHR, ACHPR…)
    "treaty_body",           # a UN treaty body or other international body (its seat's country)
    "un_field_office",       # an OHCHR or other UN field presence
    "legal_aid_ngo",         # a legal-aid NGO or network
    "ngo",                   # another non-governmental organisation
    "central_authority",     # a State's central authority (MLA, Hague conventions): part of the State
    "platform_service",      # one of the platform's own services (referral, mla…), acting only for others
]
KINDS: frozenset[str] = frozenset(get_args(InstitutionKind))
# Whether an institution is part of the State's executive (a ministry, a prosecutor, a central
# authority) rather than independent of the government by mandate (NHRIs and ombudspersons under the
# Paris and Venice Principles), international, or non-governmental. Kinds outside both sets may be
# either (an equality body is sometimes a government department).
ALWAYS_STATE: frozenset[str] = frozenset({"central_authority"})
NEVER_STATE: frozenset[str] = frozenset({"ngo", "legal_aid_ngo", "un_field_office", "treaty_body",
                                          "regional_commission", "platform_service"})

Investigated = Literal["public_authorities", "private_actors"]
INVESTIGATED: frozenset[str] = frozenset(get_args(Investigated))
ReferralKind = Literal["referral", "transfer"]
REFERRAL_KINDS: frozenset[str] = frozenset(get_args(ReferralKind))
# What a referral asks the recipient to do: intake's consent purposes (comitas_intake.consent.domain.Purpose)
# but "transfer", which is a kind of referral here, not a purpose.
ReferralPurpose = Literal["investigate", "legal_aid", "file_with_mechanism", "interim_measures", "coordination",
                          "for_information"]
REFERRAL_PURPOSES: frozenset[str] = frozenset(get_args(ReferralPurpose))
PeriodUnit = Literal["working_days", "calendar_days"]
PERIOD_UNITS: frozenset[str] = frozenset(get_args(PeriodUnit))

# ISO 3166-1 alpha-2, officially assigned codes, plus XK (Kosovo), which the Council of Europe and the
# EU use although it is user-assigned. A treaty body gives the country of its seat.
COUNTRIES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
""".split())  # noqa: SIM905 - a table to read, not a list to edit

# Institution ids travel in NATS subjects (feed.<institution_id>.…): no dots, wildcards or spaces.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
MAX_EMAILS = 10
MAX_CLOSURES = 200
MAX_PERIOD_DAYS = 365
# Fields only the platform's administrators change: what the institution is and whether it may act.
# Everything else an institution keeps up to date itself (docs: services/identity/README.md).
ADMIN_FIELDS: frozenset[str] = frozenset({"name", "kind", "country", "state_institution", "active"})


class InvalidEntry(InvalidInput, ValueError):
    """A directory entry that cannot be stored: 422 over HTTP, a ValueError for the admin CLI."""


@dataclass(frozen=True)
class Period:
    """A time limit the institution keeps: ``amount`` working or calendar days."""

    amount: int
    unit: str

    def as_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "unit": self.unit}


@dataclass(frozen=True)
class ClosureDay:
    """A day (or ``day``..``until`` inclusive) the institution is closed, besides its State's holidays."""

    day: date
    name: str
    until: date | None = None
    source: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "until": self.until.isoformat() if self.until else None,
                "name": self.name, "source": self.source}


@dataclass(frozen=True)
class Mandate:
    subject_areas: tuple[str, ...] = ()
    investigates: tuple[str, ...] = ()
    # The States whose authorities or territory it may act on (its own, unless it is international).
    countries: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"subject_areas": list(self.subject_areas), "investigates": list(self.investigates),
                "countries": list(self.countries)}


@dataclass(frozen=True)
class Contact:
    """Where the platform writes to the institution, and in which language. Private to the institution."""

    emails: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class Entry:
    """An institution's directory entry, normalised and checked."""

    name: str
    kind: str
    country: str
    subdivision: str | None = None
    time_zone: str | None = None
    languages: tuple[str, ...] = ()
    mandate: Mandate = field(default_factory=Mandate)
    state_institution: bool = False
    accepts_referrals: bool = False
    referral_kinds: tuple[str, ...] = ()
    referral_purposes: tuple[str, ...] = ()
    acknowledgement_period: Period | None = None
    response_period: Period | None = None
    closures: tuple[ClosureDay, ...] = ()
    contact: Contact = field(default_factory=Contact)
    active: bool = True


ENTRY_FIELDS: frozenset[str] = frozenset(f.name for f in fields(Entry))


def new_institution_id() -> str:
    return f"inst_{randomness.token_bytes(8).hex()}"


def check_institution_id(institution_id: str) -> str:
    if not ID_PATTERN.match(institution_id):
        raise InvalidEntry("institution_id: 1 to 64 letters, digits, '_' or '-'")
    return institution_id


def check_institution(*, name: str, kind: str, country: str,
                      institution_id: str | None) -> tuple[str, str, str]:
    """The normalised (name, kind, country), or ValueError saying what is wrong."""
    entry = check_entry(new_entry(name=name, kind=kind, country=country))
    if institution_id is not None:
        check_institution_id(institution_id)
    return entry.name, entry.kind, entry.country


def default_time_zone(country: str) -> str | None:
    """The country's zone when CLDR knows exactly one (FR: Europe/Paris); None where there are several
    (ES, BR, US…), which the institution must then state."""
    zones = _territory_zones().get(country.upper()) or []
    return zones[0] if len(zones) == 1 else None


def new_entry(*, name: str, kind: str, country: str, **profile: Any) -> Entry:
    """An entry with the defaults of its kind and country, and what ``profile`` gives (as in a change)."""
    country = country.strip().upper()
    base = Entry(name=name, kind=kind, country=country, time_zone=default_time_zone(country),
                 mandate=Mandate(countries=(country,) if country in COUNTRIES else ()),
                 state_institution=kind in ALWAYS_STATE)
    return apply_changes(base, profile)[0] if profile else check_entry(base)


def apply_changes(entry: Entry, changes: Mapping[str, Any]) -> tuple[Entry, list[str]]:
    """The entry with ``changes`` applied and checked, and the names of the fields that really changed
    (sorted; empty when nothing did). ``changes`` holds plain values (JSON-like), each replacing the
    whole field; ``mandate`` and ``contact`` may name only some of their parts."""
    unknown = sorted(set(changes) - ENTRY_FIELDS)
    if unknown:
        raise InvalidEntry(f"unknown fields: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "mandate":
            values[name] = _mandate(entry.mandate, value)
        elif name == "contact":
            values[name] = _contact(entry.contact, value)
        elif name in ("acknowledgement_period", "response_period"):
            values[name] = _period(name, value)
        elif name == "closures":
            values[name] = _closures(value)
        elif name in ("languages", "referral_kinds", "referral_purposes"):
            values[name] = _strings(name, value)
        elif name in ("state_institution", "accepts_referrals", "active"):
            if not isinstance(value, bool):
                raise InvalidEntry(f"{name}: true or false")
            values[name] = value
        elif name == "subdivision" or name == "time_zone":
            if value is not None and not isinstance(value, str):
                raise InvalidEntry(f"{name}: a string or null")
            values[name] = (value.strip() or None) if isinstance(value, str) else None
        else:
            if not isinstance(value, str):
                raise InvalidEntry(f"{name}: a string")
            values[name] = value
    if "kind" in values and "state_institution" not in values:
        # A kind that fixes the answer sets it; one that leaves it open keeps what was there.
        kind = values["kind"]
        if kind in ALWAYS_STATE or kind in NEVER_STATE:
            values["state_institution"] = kind in ALWAYS_STATE
    changed = check_entry(replace(entry, **values))
    return changed, sorted(f.name for f in fields(Entry) if getattr(changed, f.name) != getattr(entry, f.name))


def check_entry(entry: Entry) -> Entry:
    """``entry`` normalised, or InvalidEntry naming the first field that is wrong."""
    name = entry.name.strip()
    if not name or len(name) > 200:
        raise InvalidEntry("name: 1 to 200 characters")
    if entry.kind not in KINDS:
        raise InvalidEntry(f"kind: one of {', '.join(sorted(KINDS))}")
    country = entry.country.strip().upper()
    if country not in COUNTRIES:
        raise InvalidEntry(f"country: {country!r} is not an ISO 3166-1 alpha-2 code")
    subdivision = _subdivision(country, entry.subdivision)
    if entry.time_zone is not None and entry.time_zone not in _zones():
        raise InvalidEntry(f"time_zone: {entry.time_zone!r} is not an IANA time zone")
    languages = tuple(dict.fromkeys(_language("languages", code) for code in entry.languages))
    if entry.kind in ALWAYS_STATE and not entry.state_institution:
        raise InvalidEntry(f"state_institution: a {entry.kind} is part of the State")
    if entry.kind in NEVER_STATE and entry.state_institution:
        raise InvalidEntry(f"state_institution: a {entry.kind} is not part of the State")
    mandate = _check_mandate(entry.mandate)
    kinds = _choices("referral_kinds", entry.referral_kinds, REFERRAL_KINDS)
    purposes = _choices("referral_purposes", entry.referral_purposes, REFERRAL_PURPOSES)
    if entry.accepts_referrals and not (kinds and purposes):
        raise InvalidEntry("accepts_referrals: say which referral_kinds and referral_purposes it accepts")
    if entry.kind == "platform_service" and entry.accepts_referrals:
        raise InvalidEntry("accepts_referrals: a platform service takes no cases")
    contact = entry.contact
    emails = tuple(dict.fromkeys(_email(e) for e in contact.emails))
    if len(emails) > MAX_EMAILS:
        raise InvalidEntry(f"contact.emails: at most {MAX_EMAILS}")
    language = _language("contact.language", contact.language) if contact.language is not None else None
    if language is not None and languages and language not in languages:
        raise InvalidEntry(f"contact.language: {language!r} is not among the institution's languages")
    closures = tuple(sorted(entry.closures, key=lambda c: (c.day, c.until or c.day, c.name)))
    if len(closures) > MAX_CLOSURES:
        raise InvalidEntry(f"closures: at most {MAX_CLOSURES}")
    return replace(entry, name=name, country=country, subdivision=subdivision, languages=languages,
                   mandate=mandate, referral_kinds=kinds, referral_purposes=purposes,
                   contact=Contact(emails=emails, language=language), closures=closures)


def public_fields(entry: Entry) -> dict[str, Any]:
    """The entry as every directory reader (and every event) sees it: JSON values, no contact."""
    return {
        "name": entry.name, "kind": entry.kind, "country": entry.country, "subdivision": entry.subdivision,
        "time_zone": entry.time_zone, "languages": list(entry.languages), "mandate": entry.mandate.as_json(),
        "state_institution": entry.state_institution, "accepts_referrals": entry.accepts_referrals,
        "referral_kinds": list(entry.referral_kinds), "referral_purposes": list(entry.referral_purposes),
        "acknowledgement_period": entry.acknowledgement_period.as_json() if entry.acknowledgement_period else None,
        "response_period": entry.response_period.as_json() if entry.response_period else None,
        "closures": [c.as_json() for c in entry.closures], "active": entry.active,
    }


# --- parts ----------------------------------------------------------------------------------------


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidEntry(f"{name}: a list of strings")
    return tuple(v.strip() for v in value)


def _choices(name: str, values: Iterable[str], allowed: frozenset[str]) -> tuple[str, ...]:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidEntry(f"{name}: {', '.join(unknown)} not among {', '.join(sorted(allowed))}")
    return tuple(sorted(set(values)))


def _mandate(current: Mandate, value: Any) -> Mandate:
    if not isinstance(value, Mapping):
        raise InvalidEntry("mandate: an object with subject_areas, investigates, countries")
    unknown = sorted(set(value) - {"subject_areas", "investigates", "countries"})
    if unknown:
        raise InvalidEntry(f"mandate: unknown fields {', '.join(unknown)}")
    parts = {k: _strings(f"mandate.{k}", v) for k, v in value.items()}
    return replace(current, **parts)


def _check_mandate(mandate: Mandate) -> Mandate:
    areas = shipped_subject_areas()
    unknown = sorted(code for code in set(mandate.subject_areas) if code not in areas)
    if unknown:
        raise InvalidEntry(f"mandate.subject_areas: unknown codes {', '.join(unknown)} (GET /v1/vocabularies/"
                           f"subject-areas lists them)")
    countries = tuple(sorted({c.strip().upper() for c in mandate.countries}))
    if bad := [c for c in countries if c not in COUNTRIES]:
        raise InvalidEntry(f"mandate.countries: {', '.join(bad)} not ISO 3166-1 alpha-2 codes")
    return Mandate(subject_areas=tuple(sorted(set(mandate.subject_areas))),
                   investigates=_choices("mandate.investigates", mandate.investigates, INVESTIGATED),
                   countries=countries)


def _contact(current: Contact, value: Any) -> Contact:
    if not isinstance(value, Mapping):
        raise InvalidEntry("contact: an object with emails and language")
    unknown = sorted(set(value) - {"emails", "language"})
    if unknown:
        raise InvalidEntry(f"contact: unknown fields {', '.join(unknown)}")
    emails = _strings("contact.emails", value["emails"]) if "emails" in value else current.emails
    language = value.get("language", current.language)
    if language is not None and not isinstance(language, str):
        raise InvalidEntry("contact.language: an ISO 639-1 code or null")
    return Contact(emails=emails, language=language)


def _period(name: str, value: Any) -> Period | None:
    if value is None:
        return None
    if isinstance(value, Period):
        value = value.as_json()
    if not isinstance(value, Mapping) or set(value) != {"amount", "unit"}:
        raise InvalidEntry(f"{name}: an object with amount and unit, or null")
    amount, unit = value["amount"], value["unit"]
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_PERIOD_DAYS:
        raise InvalidEntry(f"{name}.amount: a whole number of days from 1 to {MAX_PERIOD_DAYS}")
    if unit not in PERIOD_UNITS:
        raise InvalidEntry(f"{name}.unit: one of {', '.join(sorted(PERIOD_UNITS))}")
    return Period(amount=amount, unit=unit)


def _closures(value: Any) -> tuple[ClosureDay, ...]:
    if not isinstance(value, (list, tuple)):
        raise InvalidEntry("closures: a list of {day, until, name, source}")
    return tuple(_closure(i, item) for i, item in enumerate(value))


def _closure(index: int, item: Any) -> ClosureDay:
    where = f"closures[{index}]"
    if isinstance(item, ClosureDay):
        return item
    if not isinstance(item, Mapping) or not {"day", "name"} <= set(item) or set(item) - {"day", "until", "name",
                                                                                         "source"}:
        raise InvalidEntry(f"{where}: an object with day, name and optionally until and source")
    day, until = _date(f"{where}.day", item["day"]), item.get("until")
    until_day = _date(f"{where}.until", until) if until is not None else None
    if until_day is not None and until_day < day:
        raise InvalidEntry(f"{where}: until ({until_day}) is before day ({day})")
    if until_day == day:
        until_day = None
    name, source = item["name"], item.get("source")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidEntry(f"{where}.name: 1 to 200 characters")
    if source is not None and (not isinstance(source, str) or len(source) > 500):
        raise InvalidEntry(f"{where}.source: up to 500 characters, or null")
    return ClosureDay(day=day, until=until_day, name=name.strip(), source=(source or "").strip() or None)


def _date(where: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidEntry(f"{where}: a date (YYYY-MM-DD)") from None


def _subdivision(country: str, value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if not code.startswith(f"{country}-"):
        raise InvalidEntry(f"subdivision: an ISO 3166-2 code of {country} ({country}-…)")
    if code not in _subdivisions(country):
        raise InvalidEntry(f"subdivision: {code!r} is not an ISO 3166-2 subdivision of {country}")
    return code


def _language(where: str, code: str) -> str:
    normalised = code.strip().lower()
    if len(normalised) != 2 or pycountry.languages.get(alpha_2=normalised) is None:
        raise InvalidEntry(f"{where}: {code!r} is not an ISO 639-1 code")
    return normalised


def _email(value: str) -> str:
    email = value.strip()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidEntry(f"contact.emails: {value!r} is not an e-mail address")
    return email


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _subdivisions(country: str) -> frozenset[str]:
    found: Iterable[Any] = pycountry.subdivisions.get(country_code=country) or []  # type: ignore[no-untyped-call]
    return frozenset(str(s.code) for s in found)


@cache
def _territory_zones() -> Mapping[str, list[str]]:
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    return zones
