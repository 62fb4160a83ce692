"""Channels without I/O: which events a subscription wants (types, cases, urgency), digest periods in an
institution's time zone, where e-mail may go, the message catalogues, and the messages themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from comitas_notifications.digests.domain import following, window_containing
from comitas_notifications.directory.domain import email_recipients, notification_language, usable_time_zone
from comitas_notifications.email import (
    LANGUAGES,
    DigestEntry,
    Reader,
    render_digest,
    render_event,
    translations,
)
from comitas_notifications.subscriptions.domain import (
    Interest,
    case_keys,
    is_urgent,
    normalise_cases,
    reminder_is_urgent,
    wants,
)

REMINDER = "comitas.deadline.reminder"
SUBMITTED = "comitas.complaint.submitted"


# --- filters ----------------------------------------------------------------------------------------


def test_case_keys_gather_every_name_of_the_case():
    keys = case_keys("c-1", {"complaint_id": "C-1", "reference": "CMP-2026-0007", "sha256": "abc"})
    assert keys == {"c-1", "cmp-2026-0007"}
    assert case_keys(None, {"request_id": "mla-9", "case_ref": "c-2"}) == {"mla-9", "c-2"}


@pytest.mark.parametrize(("reminder", "urgent"), [
    ("d14", False), ("d7", False), ("d4", False), ("d3", True), ("d1", True), ("day", True), ("due", True),
    ("overdue", True), ("h6", True), ("m30", True), ("s10", True), ("weird", False)])
def test_reminders_close_to_the_last_day_are_urgent(reminder, urgent):
    assert reminder_is_urgent(reminder) is urgent
    assert is_urgent(REMINDER, {"reminder": reminder}) is urgent


def test_urgency_from_the_payload_or_the_type():
    assert is_urgent(SUBMITTED, {"urgency": "urgent"})
    assert not is_urgent(SUBMITTED, {"urgency": "normal"})
    assert is_urgent("comitas.mla.issued", {"urgent": True})
    assert is_urgent("comitas.consent.withdrawn", {})
    assert not is_urgent("comitas.evidence.added", {})


def test_a_subscription_wants_its_types_cases_and_urgency():
    everything = Interest(event_types=("*",))
    assert wants(everything, SUBMITTED, "c-1", {})
    by_case = Interest(event_types=("comitas.complaint.*",), cases=("CMP-2026-0007", "c-9"))
    assert wants(by_case, SUBMITTED, "c-1", {"reference": "cmp-2026-0007"})
    assert wants(by_case, SUBMITTED, "c-9", {})
    assert not wants(by_case, SUBMITTED, "c-1", {"reference": "CMP-2026-0008"})
    assert not wants(by_case, REMINDER, "c-9", {})  # not its type
    urgent_only = Interest(event_types=("*",), urgency="urgent")
    assert wants(urgent_only, SUBMITTED, "c-1", {"urgency": "urgent"})
    assert not wants(urgent_only, SUBMITTED, "c-1", {"urgency": "normal"})
    assert wants(urgent_only, REMINDER, "c-1", {"reminder": "d1"})
    assert not wants(urgent_only, REMINDER, "c-1", {"reminder": "d14"})


def test_cases_are_normalised():
    assert normalise_cases(None) is None
    assert normalise_cases([" c-1 ", "C-1", "", "c-2"]) == ["c-1", "c-2"]


# --- digests ----------------------------------------------------------------------------------------


def test_a_digest_period_runs_from_the_local_hour_to_the_next_day_s():
    paris = "Europe/Paris"
    # 11:00 in Paris (UTC+1): the period began at 08:00 today and ends at 08:00 tomorrow, Paris time.
    window = window_containing(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), time_zone=paris, hour=8)
    assert window.start == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert window.key == "digest:2026-12-02T07:00Z"
    # 07:59 Paris still belongs to yesterday's period; 08:00 opens the next one.
    before = window_containing(datetime(2026, 12, 2, 6, 59, tzinfo=UTC), time_zone=paris, hour=8)
    at = window_containing(datetime(2026, 12, 2, 7, 0, tzinfo=UTC), time_zone=paris, hour=8)
    assert before == window and at == following(window, hour=8)
    assert at.start == window.end and at.end == datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def test_a_digest_period_keeps_the_local_hour_across_a_daylight_saving_change():
    # Paris moves to summer time on 29 March 2026: the period that spans it lasts 23 hours.
    window = window_containing(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), time_zone="Europe/Paris", hour=8)
    assert window.start.astimezone(ZoneInfo("Europe/Paris")).hour == 8
    assert window.end.astimezone(ZoneInfo("Europe/Paris")).hour == 8
    assert window.end - window.start == timedelta(hours=23)
    bogota = window_containing(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), time_zone="America/Bogota", hour=0)
    assert bogota.end == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # midnight in Bogotá (UTC-5)


# --- directory --------------------------------------------------------------------------------------


def test_the_language_of_an_institution():
    supported = ("en", "fr", "es")
    assert notification_language("fr", ["en"], supported=supported, default="en") == "fr"
    assert notification_language(None, ["de", "es", "fr"], supported=supported, default="en") == "es"
    assert notification_language("de", ["it"], supported=supported, default="en") == "en"
    assert usable_time_zone("Europe/Paris", default="UTC") == "Europe/Paris"
    assert usable_time_zone("Mars/Olympus", default="UTC") == "UTC"
    assert usable_time_zone(None, default="Europe/Madrid") == "Europe/Madrid"


def test_e_mail_goes_only_to_the_institution_s_own_addresses():
    own = ["greffe@defenseur.example.fr", "Urgences@defenseur.example.fr"]
    assert email_recipients(None, own) == (own, None)
    assert email_recipients("urgences@DEFENSEUR.example.fr", own) == (["urgences@DEFENSEUR.example.fr"], None)
    addresses, why = email_recipients("victim@example.org", own)
    assert addresses == [] and "no longer one of" in why
    addresses, why = email_recipients(None, [])
    assert addresses == [] and "no notification address" in why


# --- catalogues -------------------------------------------------------------------------------------


def _extracted() -> set[str | tuple[str, str]]:
    root = resources.files("comitas_notifications.email")
    method_map = [("**.py", "python"), ("templates/**", "jinja2")]
    found: set[str | tuple[str, str]] = set()
    for _, _, message, _, _ in extract_from_dir(str(root), method_map=method_map,
                                                keywords={"_": None, "ngettext": (1, 2), "N_": None}):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated_with_the_same_placeholders(language):
    path = resources.files("comitas_notifications.email") / "locales" / language / "LC_MESSAGES" / "comitas.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    entries = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
    missing = _extracted() - set(entries)
    assert not missing, f"{language}: not in the catalogue (run pybabel extract/update, README): {missing}"
    for key, message in entries.items():
        assert "fuzzy" not in message.flags, key
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: {key!r} untranslated"
    # Babel's own checks: python-format placeholders match the msgid's, plural forms complete.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []


def test_the_template_catalogue_is_current():
    pot = resources.files("comitas_notifications.email") / "locales" / "comitas.pot"
    with pot.open("rb") as source:
        ids = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(source) if m.id}
    assert ids == _extracted()


def test_catalogues_compile_at_load_time():
    assert translations("fr").gettext("Case") == "Dossier"
    assert translations("es").gettext("Case") == "Caso"
    assert translations("en").gettext("Case") == "Case"
    with pytest.raises(ValueError):
        translations("de")


# --- messages ---------------------------------------------------------------------------------------


def reminder_data(**extra):
    return {"deadline_id": "d-1", "deadline_key": "complaint:c-77:filing:echr", "institution_id": "i-1",
            "owner_institution_id": "i-1", "case_ref": "c-77", "case_kind": "complaint", "kind": "filing_limit",
            "title": "Requête à la CEDH (CMP-2026-0042)", "mechanism": "echr", "hard": True, "reminder": "d3",
            "fire_at": "2026-12-11T08:00:00Z", "last_day": "2026-12-14", "time_zone": "Europe/Paris",
            "due_at": "2026-12-14T22:59:59.999000Z", **extra}


def test_a_reminder_in_french_dates_the_last_day_where_the_law_counts_it():
    composed = render_event(event_type=REMINDER, subject="c-77", at=datetime(2026, 12, 11, 8, tzinfo=UTC),
                            data=reminder_data(rule={"provision": "CEDH art. 35 § 1", "source": "https://echr.coe.int"}),
                            reader=Reader("fr", "America/Cayenne", "Défenseur des droits"), subscription_id="s-1")
    assert composed.language == "fr"
    assert composed.subject == "[Comitas] Échéance dans 3 jours : Requête à la CEDH (CMP-2026-0042)"
    text = composed.text
    assert "L’échéance « Requête à la CEDH (CMP-2026-0042) » expire dans 3 jours." in text
    assert "Dossier : c-77" in text
    # The last day where it is counted (Paris), and when that is for the reader (Cayenne, UTC-3).
    assert "Dernier jour : lundi 14 décembre 2026, jusqu’à 23:59 (Europe/Paris)" in text
    assert "Fin, dans votre fuseau horaire : 14 décembre 2026, 19:59 (America/Cayenne)" in text
    assert "Règle : CEDH art. 35 § 1" in text and "Source : https://echr.coe.int" in text
    assert "À l’attention de : Défenseur des droits" in text
    assert "<th" in composed.html and "lundi 14 décembre 2026" in composed.html


def test_a_reminder_in_spanish_and_english_and_on_the_day():
    spanish = render_event(event_type=REMINDER, subject=None, data=reminder_data(reminder="day"), at=None,
                           reader=Reader("es", "Europe/Paris"), subscription_id="s")
    assert spanish.subject.startswith("[Comitas] Plazo que vence hoy:")
    assert "Último día: lunes, 14 de diciembre de 2026, hasta las 23:59 (Europe/Paris)" in spanish.text
    assert "Ends, in your time zone" not in spanish.text and "Vence, en su zona horaria" not in spanish.text
    english = render_event(event_type=REMINDER, subject=None, data=reminder_data(reminder="d1"), at=None,
                           reader=Reader("en", "Europe/Paris"), subscription_id="s")
    assert english.subject == "[Comitas] Deadline in 1 day: Requête à la CEDH (CMP-2026-0042)"
    assert "Last day: Monday, December 14, 2026, until 11:59\u202fPM (Europe/Paris)" in english.text


def test_html_is_escaped_and_text_is_not():
    composed = render_event(event_type=SUBMITTED, subject="c-1", at=None, reader=Reader("en", "UTC"),
                            data={"complaint_id": "c-1", "reference": "<b>CMP</b> & co"}, subscription_id="s")
    assert "&lt;b&gt;CMP&lt;/b&gt; &amp; co" in composed.html and "<b>CMP</b>" not in composed.html
    assert "Reference: <b>CMP</b> & co" in composed.text


def test_a_digest_summarises_its_events_in_one_message():
    entries = [DigestEntry(SUBMITTED, "c-1", {"complaint_id": "c-1", "reference": "CMP-1"},
                           datetime(2026, 12, 1, 9, tzinfo=UTC)),
               DigestEntry(REMINDER, "c-2", reminder_data(case_ref="c-2"), datetime(2026, 12, 1, 10, tzinfo=UTC))]
    composed = render_digest(entries=entries, start=datetime(2026, 12, 1, 7, tzinfo=UTC),
                             end=datetime(2026, 12, 2, 7, tzinfo=UTC), reader=Reader("fr", "Europe/Paris"),
                             subscription_id="s")
    assert composed.subject == "[Comitas] Récapitulatif du jour : 2 événements"
    assert "du 1 décembre 2026, 08:00 (Europe/Paris) au 2 décembre 2026, 08:00 (Europe/Paris)" in composed.text
    assert "1. Plainte déposée, dossier c-1" in composed.text
    assert "2. L’échéance « Requête à la CEDH (CMP-2026-0042) » expire dans 3 jours." in composed.text


def test_a_deadline_in_an_unknown_zone_is_still_shown():
    composed = render_event(event_type=REMINDER, subject=None, at=None, reader=Reader("en", "UTC"),
                            data=reminder_data(time_zone="Europe/Strasbourg"), subscription_id="s")
    # The day the law fixed is shown as it is; no instant is made up for a zone that does not exist.
    assert "Last day: Monday, December 14, 2026 (Europe/Strasbourg)" in composed.text
