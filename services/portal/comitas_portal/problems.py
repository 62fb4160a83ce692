"""A service's refusal as a person reads it: each error of its problem+json (RFC 9457) put next to the form
field it concerns, in plain words in the officer's language, instead of the service's own text ("the
request does not match the schema", "String should match pattern '^[a-z]{2}$'").

A form says where each of the service's JSON pointers lands (``fields``: the longest pointer that starts
the error's pointer wins) and, for the errors it knows, what to tell the person (``messages``, by field and
kind of error, ``*`` for any kind; ``slugs`` for the service's own refusals, by the last segment of the
problem's ``type``). Any other validation error of a field gets a message for its kind (empty, too long,
wrong form, not one of the options); an error that lands on no field of the form keeps the service's text,
in the summary on top of the form."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .i18n import N_, label, translations
from .upstream import UpstreamProblem

# The services answer pydantic's message, not its error type: the type each message template stands for
# (pydantic_core's ErrorType messages), and what the message names (a length, the options).
PYDANTIC_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Field required$"), "missing"),
    (re.compile(r"^String should have at least (?P<min>\d+) characters?$"), "string_too_short"),
    (re.compile(r"^String should have at most (?P<max>\d+) characters?$"), "string_too_long"),
    (re.compile(r"^String should match pattern "), "string_pattern_mismatch"),
    (re.compile(r"^(List|Tuple|Set) should have at least (?P<min>\d+) items?"), "too_short"),
    (re.compile(r"^(List|Tuple|Set) should have at most (?P<max>\d+) items?"), "too_long"),
    (re.compile(r"^Input should be '"), "literal_error"),
    (re.compile(r"^Input should be a valid (string|list|dictionary)"), "type_error"),
    (re.compile(r"^Input should be a valid date"), "date_parsing"),
    (re.compile(r"^unknown field$"), "extra_forbidden"),
)
# What any field is told for each kind of error (a form may say better, see ``messages``).
GENERIC: dict[str, str] = {
    "missing": N_("Fill in this field."),
    "string_too_short": N_("Write at least %(min)s characters."),
    "string_too_long": N_("Write at most %(max)s characters."),
    "too_short": N_("Give at least %(min)s items."),
    "too_long": N_("Give at most %(max)s items."),
    "string_pattern_mismatch": N_("This is not in the expected form."),
    "literal_error": N_("Choose one of the options offered."),
    "date_parsing": N_("Give a date, such as 2025-03-31."),
}
INVALID = N_("This value is not accepted.")


def kind_of(error: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The pydantic error type of one of a problem's ``errors`` (its ``type`` when the service names it, else
    read from its message), with the numbers the message names."""
    detail = str(error.get("detail") or "")
    for pattern, kind in PYDANTIC_MESSAGES:
        found = pattern.match(detail)
        if found:
            params = {k: v for k, v in found.groupdict().items() if v is not None}
            kind = str(error.get("type") or kind)
            # "at least 1 character": the field was left empty.
            if kind in ("string_too_short", "too_short") and params.get("min") == "1":
                return "missing", {}
            return kind, params
    return str(error.get("type") or "invalid"), {}


@dataclass(frozen=True)
class Refusal:
    """What a service's refusal of a known kind (``type``'s slug) tells a person: the field it concerns
    (``""`` for the form as a whole) and the message, whose placeholders ``params`` fills from the problem."""

    field: str
    message: str
    params: Callable[[dict[str, Any], str], dict[str, str]] = lambda problem, language: {}


@dataclass
class FormErrors:
    """The messages of a refused form: by field (``err-<field>`` on the page), and those of no field."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)


def _field_of(pointer: str, fields: Mapping[str, str]) -> str | None:
    within = [prefix for prefix in fields if pointer == prefix or pointer.startswith(prefix.rstrip("/") + "/")]
    return fields[max(within, key=len)] if within else None


def form_errors(problem: UpstreamProblem, language: str, *, fields: Mapping[str, str],
                messages: Mapping[tuple[str, str], str] | None = None,
                slugs: Mapping[str, Refusal] | None = None) -> FormErrors:
    """The problem's errors as the form shows them, in ``language``."""
    gettext = translations(language).gettext
    found = FormErrors()

    def say(message: str, params: dict[str, str]) -> str:
        try:
            return gettext(message) % params
        except (KeyError, TypeError, ValueError):  # a message that names what this error does not say
            return gettext(INVALID)

    def add(name: str, text: str) -> None:
        target = found.fields.setdefault(name, []) if name else found.general
        if text not in target:
            target.append(text)

    slug = str(problem.problem.get("type") or "").rstrip("/").rsplit("/", 1)[-1]
    refusal = (slugs or {}).get(slug)
    if refusal is not None:
        try:
            add(refusal.field, say(refusal.message, refusal.params(problem.problem, language)))
        except LookupError:  # the problem lacks what the message names: the service's own words
            add(refusal.field, problem.detail)
        return found
    errors = [e for e in problem.problem.get("errors") or [] if isinstance(e, dict)]
    for error in errors:
        pointer = str(error.get("pointer") or "")
        name = _field_of(pointer, fields) if pointer else None
        if name is None:
            # No field of this form: the service's own words, which name the field.
            add("", f"{pointer.strip('/') or error.get('parameter') or ''}: {error.get('detail') or ''}".strip(": "))
            continue
        kind, params = kind_of(error)
        message = (messages or {}).get((name, kind)) or (messages or {}).get((name, "*")) or GENERIC.get(kind, INVALID)
        add(name, say(message, params))
    if not errors or (not found.fields and not found.general):
        add("", problem.detail)
    return found


def state_param(problem: dict[str, Any], language: str) -> dict[str, str]:
    """The record's state a refused transition names, as words."""
    return {"state": label(language, problem["state"])}


def allowed_param(problem: dict[str, Any], language: str) -> dict[str, str]:
    """The codes a refusal says are allowed, as a list."""
    if not problem.get("allowed"):
        raise LookupError("allowed")
    return {"allowed": ", ".join(str(code) for code in problem["allowed"])}
