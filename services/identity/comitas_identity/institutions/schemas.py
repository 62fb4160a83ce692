"""API shapes of the institutions directory."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ..models import Institution, utc
from .domain import InstitutionKind


class InstitutionOut(BaseModel):
    id: str = Field(examples=["inst_4f1c2a9e0b7d4c3a"])
    name: str
    kind: InstitutionKind
    country: str = Field(description="ISO 3166-1 alpha-2 code of its country (its seat's, for a treaty body)",
                         examples=["FR"])
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: Institution) -> InstitutionOut:
        return cls(id=row.id, name=row.name, kind=row.kind,  # type: ignore[arg-type]
                   country=row.country, active=row.active, created_at=utc(row.created_at))
