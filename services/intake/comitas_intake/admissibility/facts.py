"""What the engine needs to know about a complaint. Frozen: an assessment never changes its input."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .rules import CODE_PATTERN, ExhaustionException, FilerKind, SituationFlag


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DomesticRemedy(_Frozen):
    description: str
    exhausted: bool
    final_decision_date: date | None = None
    notification_date: date | None = None
    exception_claimed: ExhaustionException | None = None


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
    urgency: Urgency = Urgency()
    filer_kind: FilerKind
    victim_is_filer: bool
    events_date: date | None = None

    @field_validator("respondent_states")
    @classmethod
    def _iso_codes(cls, states: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(state.strip().upper() for state in states)
        for state in normalised:
            if len(state) != 2 or not state.isalpha() or not state.isascii():
                raise ValueError(f"{state!r} is not an ISO 3166-1 alpha-2 code")
        return tuple(dict.fromkeys(normalised))

    def latest_end_of_other_procedure(self) -> date | None:
        ended = [p.ended_on for p in self.other_procedures if p.ended_on is not None]
        return max(ended) if ended else None
