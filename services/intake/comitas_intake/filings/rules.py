"""What each body wants in a filing, kept as data (``data/bodies.toml``, ``data/forms/*.toml``,
``data/mandates.toml``): the form's sections and items in the body's own order, the languages and
channels it accepts, what it does with the victim's identity, and which Special Procedures mandate
covers what. Every rule carries its provision, source and status (ADR 0010, 0020). Loaded and validated
once; a malformed file stops the service with a message naming the file and the field."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from comitas_shared.datafiles import read_toml, validate

DATA_DIR = Path(__file__).parent / "data"
Status = Literal["confirmed", "partial", "unconfirmed"]
Category = Literal["identity", "contact", "narrative", "evidence", "none"]
# What an item's ``field`` reads in the complaint (see ``domain.extract``).
FIELDS = frozenset({
    "victims.name", "victims.birth_date", "victims.nationalities", "victims.addresses", "victims.occupation",
    "representative.name", "representative.contact", "representative.authority", "author.name", "author.contact",
    "petitioner.ngo", "respondent_states", "facts", "rights", "domestic_remedies", "other_procedures", "relief",
    "urgency", "disclosure.respondent_state", "actors.authority_informed", "actors.alleged_perpetrator", "annexes",
})


class RulesFileError(ValueError):
    """A filings data file is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Strict):
    provision: str
    source: str
    status: Status


class Item(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    item: str
    label: str
    field: str
    category: Category
    # required: the filing is not ready without it; if_any: required when the complaint has that person
    # (a representative); if_possible: listed when missing, never blocking.
    level: Literal["required", "if_any", "if_possible"] = "required"
    provision: str
    source: str
    status: Status

    @model_validator(mode="after")
    def _known_field(self) -> Item:
        if self.field not in FIELDS:
            raise ValueError(f"unknown field {self.field!r} (known: {', '.join(sorted(FIELDS))})")
        return self

    @property
    def citation(self) -> Citation:
        return Citation(provision=self.provision, source=self.source, status=self.status)


class Section(_Strict):
    id: str
    title: str
    item: tuple[Item, ...] = Field(min_length=1)


class Form(_Strict):
    form: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    section: tuple[Section, ...] = Field(min_length=1)


class Confidentiality(_Strict):
    # Whose view the request is about: the public, the respondent state, or always (a source's identity).
    when: Literal["public", "respondent_state", "always"]
    request: str
    provision: str
    source: str
    status: Status


class Period(_Strict):
    amount: int = Field(ge=1)
    unit: Literal["calendar_days", "weeks", "months"]
    what: str
    provision: str
    source: str
    status: Status


class Body(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    mechanism: str = Field(description="the mechanism's code for consent (a consent record's recipient)")
    form: str
    document: Literal["preparation", "submission"]
    document_note: str | None = None
    anonymous_accepted: bool
    # always: the body transmits the identity to the state; withheld_on_request: it may be withheld
    # (IACHR Art 28(2)); only_with_consent: transmitted only with the victim's consent, otherwise the
    # body does not proceed (OP-CEDAW Art 6(1)); source_confidential: the source stays confidential.
    identity_to_state: Literal["always", "withheld_on_request", "only_with_consent", "source_confidential"]
    identity_to_state_rule: Citation | None = None
    languages: tuple[str, ...] = Field(min_length=1)
    languages_note: str
    languages_rule: Citation
    channels: tuple[str, ...] = Field(min_length=1)
    channels_rule: Citation
    confidentiality: Confidentiality | None = None
    takes_mandates: bool = False
    publication_check: Period | None = None

    @model_validator(mode="after")
    def _consent_rule(self) -> Body:
        if self.identity_to_state == "only_with_consent" and self.identity_to_state_rule is None:
            raise ValueError("identity_to_state only_with_consent needs its identity_to_state_rule")
        return self


class Mandate(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    system: Literal["un", "african", "inter_american", "european"]
    acts: tuple[str, ...] = ()
    rights: tuple[tuple[str, str], ...] = ()
    profiles: tuple[str, ...] = ()
    urgent_appeals: bool = True
    provision: str
    source: str
    status: Status

    @property
    def citation(self) -> Citation:
        return Citation(provision=self.provision, source=self.source, status=self.status)


class Rules(_Strict):
    version: str
    bodies: dict[str, Body]
    forms: dict[str, Form]
    mandates: dict[str, Mandate]

    def form_of(self, body: Body) -> Form:
        return self.forms[body.form]


def _read(path: Path) -> dict[str, Any]:
    return read_toml(path, RulesFileError)


def _validate(model: type[BaseModel], data: Any, name: str) -> Any:
    return validate(model, data, name, RulesFileError)


def load_rules(directory: Path | None = None) -> Rules:
    root = directory or DATA_DIR
    forms: dict[str, Form] = {}
    for path in sorted((root / "forms").glob("*.toml")):
        form = _validate(Form, _read(path), path.name)
        if form.form != path.stem:
            raise RulesFileError(f"{path.name}: form {form.form!r} does not match the file name")
        forms[form.form] = form
    raw_bodies = _read(root / "bodies.toml")
    bodies: dict[str, Body] = {}
    for index, entry in enumerate(raw_bodies.get("body", [])):
        body = _validate(Body, entry, f"bodies.toml: body[{index}]")
        if body.form not in forms:
            raise RulesFileError(f"bodies.toml: body[{index}].form: no form {body.form!r}")
        bodies[body.code] = body
    raw_mandates = _read(root / "mandates.toml")
    mandates = {m.code: m for m in (_validate(Mandate, entry, f"mandates.toml: mandate[{i}]")
                                    for i, entry in enumerate(raw_mandates.get("mandate", [])))}
    versions = [str(raw_bodies.get("version", "")), str(raw_mandates.get("version", ""))]
    versions += [f.version for f in forms.values()]
    return Rules(version=max(versions), bodies=bodies, forms=forms, mandates=mandates)


@cache
def shipped_rules() -> Rules:
    return load_rules()
