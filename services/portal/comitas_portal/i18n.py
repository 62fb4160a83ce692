"""The web client's message catalogues: gettext ``.po`` files per language (msgids are the English text,
extracted from the templates and the Python code with Babel, see babel.cfg), compiled in memory the
first time a page in that language is rendered, as notifications' e-mails are. Fuzzy entries are left
out (they would show English; the catalogue test counts them as untranslated)."""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "portal"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "fr", "es")
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def locales_dir() -> Traversable:
    return resources.files(__package__) / "locales"


def po_file(language: str) -> Traversable:
    return locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    if language not in LANGUAGES:
        raise ValueError(f"no messages in {language!r}")
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    with po_file(language).open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


# The services' codes a page shows (states, purposes, categories…), as words in the officer's language.
# A code not listed here is shown as it is (a new state of a service, say) until it is added.
LABELS: dict[str, str] = {
    # complaints
    "received": N_("received"), "under_assessment": N_("under assessment"), "active": N_("active"),
    "closed": N_("closed"), "withdrawn": N_("withdrawn"), "transferred": N_("transferred"),
    "start_assessment": N_("assessment started"), "activate": N_("activated"), "withdraw": N_("withdrawn"),
    "reopen": N_("reopened"),
    # referrals
    "sending": N_("being sent"), "sent": N_("sent"), "acknowledged": N_("acknowledged"), "accepted": N_("accepted"),
    "declined": N_("declined"), "failed": N_("failed"), "referral": N_("referral"), "transfer": N_("transfer"),
    "sender": N_("sender"), "recipient": N_("recipient"), "system": N_("system"),
    "acknowledgement": N_("acknowledgement"), "response": N_("response"), "open": N_("open"), "met": N_("met"),
    "paused": N_("paused"), "not_requested": N_("not requested"),
    "investigate": N_("investigate"), "legal_aid": N_("legal aid"), "file_with_mechanism": N_("file with a mechanism"),
    "for_information": N_("for information"), "interim_measures": N_("interim measures"),
    "coordination": N_("coordination"),
    "identity": N_("identity"), "contact": N_("contact"), "health": N_("health"), "narrative": N_("narrative"),
    "evidence": N_("evidence"),
    "outside_mandate": N_("outside the mandate"), "outside_territory": N_("outside the territory"),
    "already_handled": N_("already handled"), "pending_elsewhere": N_("pending elsewhere"),
    "insufficient_information": N_("insufficient information"), "time_barred": N_("time-barred"),
    "no_capacity": N_("no capacity"), "consent_missing": N_("consent missing"), "other": N_("other"),
    "in_person": N_("in person"), "phone": N_("by phone"), "video_call": N_("by video call"),
    "written": N_("in writing"), "electronic": N_("electronically"),
    "through_representative": N_("through a representative"), "through_partner": N_("through a partner"),
    "given": N_("given"),
    # assessment verdicts and time-limit statuses
    "check": N_("to check"), "candidate": N_("candidate"), "unavailable": N_("unavailable"),
    "admissible": N_("admissible"), "inadmissible": N_("inadmissible"), "expired": N_("expired"),
    "soft_warning": N_("warning"), "unknown": N_("unknown"), "not_started": N_("not started"),
    "no_fixed_limit": N_("no fixed limit"), "not_applicable": N_("not applicable"), "guidance": N_("guidance"),
    # the case's timeline
    "complaint": N_("complaint"), "assessment": N_("assessment"), "filing": N_("filing"), "deadline": N_("deadline"),
    "consent": N_("consent"), "mla": N_("legal assistance"),
    # kinds of institution (identity's directory)
    "ombudsperson": N_("ombudsperson"), "nhri": N_("national human rights institution"),
    "equality_body": N_("equality body"), "regional_commission": N_("regional human rights commission"),
    "treaty_body": N_("treaty body"), "un_field_office": N_("UN field office"), "legal_aid_ngo": N_("legal-aid NGO"),
    "ngo": N_("NGO"), "central_authority": N_("central authority"),
    # MLA requests
    "draft": N_("draft"), "issued": N_("issued"), "clarification_requested": N_("clarification requested"),
    "clarified": N_("clarified"), "recognised": N_("recognised"), "in_execution": N_("in execution"),
    "executed": N_("executed"), "refused": N_("refused"), "postponed": N_("postponed"),
    "requesting": N_("requesting"), "requested": N_("requested"),
    "investigation": N_("investigation"), "prosecution": N_("prosecution"),
    "judicial_proceedings": N_("judicial proceedings"), "enforcement": N_("enforcement"),
    "taking_evidence": N_("taking evidence"), "hearing_witness": N_("hearing a witness"),
    "hearing_by_video_conference": N_("hearing by video conference"), "search_and_seizure": N_("search and seizure"),
    "bank_records": N_("bank records"), "service_of_documents": N_("service of documents"),
    "preservation_of_stored_data": N_("preservation of stored data"),
    "disclosure_of_stored_data": N_("disclosure of stored data"), "freezing_of_assets": N_("freezing of assets"),
    "temporary_transfer_of_detained_person": N_("temporary transfer of a detained person"),
    "joint_investigation_team": N_("joint investigation team"),
    "spontaneous_exchange_of_information": N_("spontaneous exchange of information"),
}


def label(language: str, code: object) -> str:
    """A code as words in ``language`` (the code itself when it has no label)."""
    text = str(code if code is not None else "")
    found = LABELS.get(text)
    return translations(language).gettext(found) if found else text


def labels(language: str, codes: object) -> str:
    """Several codes as words, separated by commas."""
    return ", ".join(label(language, code) for code in (codes if isinstance(codes, list | tuple) else []))
