"""What the engine needs to know about a complaint. Frozen: an assessment never changes its input."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .rules import CODE_PATTERN, ExhaustionException, FilerKind, SituationFlag


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RemedyNature(StrEnum):
    """Whether a remedy is one that must be exhausted and so starts a time limit.

    An extraordinary remedy (reopening, retrial, supervisory review, a petition to a body with
    discretion to act) or one that was not effective neither has to be exhausted nor moves the start
    of a limit (*Berdzenishvili v. Russia* (dec.); *Sapeyan v. Armenia*): counting from it would give a
    last day months too late.
    """

    ORDINARY = "ordinary"
    EXTRAORDINARY = "extraordinary"
    INEFFECTIVE = "ineffective"
    # The national body a state established or indicated under ICERD Art 14(2): CERD's six months run
    # from failing to obtain satisfaction there (Art 14(5)); for every other body it is not a remedy
    # that moves a start.
    NATIONAL_BODY = "national_body"


class DomesticRemedy(_Frozen):
    """One domestic remedy used. ``notification_date`` is the day the decision was served on (or
    otherwise came to the knowledge of) the victim or the representative; ``nature`` is ``None``
    when the complaint does not say, and such a remedy is then read as ordinary, with a caveat."""

    description: str
    exhausted: bool
    final_decision_date: date | None = None
    notification_date: date | None = None
    exception_claimed: ExhaustionException | None = None
    nature: RemedyNature | None = None

    @property
    def counts(self) -> bool:
        """Whether this remedy can start a time limit or has to be exhausted."""
        return self.nature not in (RemedyNature.EXTRAORDINARY, RemedyNature.INEFFECTIVE, RemedyNature.NATIONAL_BODY)

    @property
    def key_date(self) -> date | None:
        return self.final_decision_date or self.notification_date


class ProcedureStatus(StrEnum):
    PENDING = "pending"
    EXAMINED = "examined"
    DECIDED = "decided"


class OtherProcedure(_Frozen):
    """The same matter before another international body (a code from the catalogue, or any other code,
    e.g. ``hrc_complaint_procedure`` or ``wgeid``)."""

    mechanism: str = Field(pattern=CODE_PATTERN)
    status: ProcedureStatus
    same_author: bool = True
    ended_on: date | None = None


class Urgency(_Frozen):
    """``level`` says whether interim measures are sought; the flags describe the situation and are
    read even when the complaint is not urgent (the WGAD hears only detention, CED disappearances)."""

    level: Literal["none", "urgent"] = "none"
    imminent_removal: bool = False
    detention: bool = False
    disappearance: bool = False
    risk_to_life: bool = False

    def flags(self) -> set[SituationFlag]:
        return {flag for flag in SituationFlag if getattr(self, flag.value)}


class ComplaintFacts(_Frozen):
    respondent_states: tuple[str, ...] = Field(min_length=1)
    domestic_remedies: tuple[DomesticRemedy, ...] = ()
    other_procedures: tuple[OtherProcedure, ...] = ()
    rights_invoked: tuple[str, ...] = ()
    # The rights come from the structured catalogue (instrument + article), not from free text: a body
    # none of whose instruments they cite is then known to be out of the claims' scope, rather than
    # possibly missed by a keyword, and it is not recommended.
    rights_structured: bool = False
    urgency: Urgency = Urgency()
    filer_kind: FilerKind
    victim_is_filer: bool
    events_date: date | None = None
    # The events go on (a disappearance not yet cleared up, a detention, a law still applied): bodies
    # that admit the continuing-violation exception hear the part after entry into force.
    events_continuing: bool = False
    # The day the complaint is (or was) filed; acceptance and time limits are judged on that day.
    # ``None`` means "filed on the day of the assessment".
    filing_date: date | None = None

    @field_validator("respondent_states")
    @classmethod
    def _iso_codes(cls, states: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(state.strip().upper() for state in states)
        for state in normalised:
            if len(state) != 2 or not state.isalpha() or not state.isascii():
                raise ValueError(f"{state!r} is not an ISO 3166-1 alpha-2 code")
        return tuple(dict.fromkeys(normalised))

    def latest_end_of_other_procedure(self, *, ignored: frozenset[str] = frozenset()) -> date | None:
        """The latest end of another procedure, leaving out those in ``ignored`` (procedures that
        are not "of international investigation or settlement" for the body asking)."""
        ended = [p.ended_on for p in self.other_procedures
                 if p.ended_on is not None and p.mechanism not in ignored and p.status is not ProcedureStatus.PENDING]
        return max(ended) if ended else None
