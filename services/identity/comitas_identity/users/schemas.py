"""What other features learn about a liaison officer (never the password hash)."""

from __future__ import annotations

from dataclasses import dataclass

from .models import UserAccount


@dataclass(frozen=True)
class OfficerAccount:
    id: str
    institution_id: str
    email: str
    name: str
    scopes: tuple[str, ...]
    active: bool

    @classmethod
    def of(cls, row: UserAccount) -> OfficerAccount:
        return cls(id=row.id, institution_id=row.institution_id, email=row.email, name=row.name,
                   scopes=tuple(row.scopes), active=row.active)
