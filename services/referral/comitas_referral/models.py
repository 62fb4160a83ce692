"""referral's tables share one registry (its own MetaData), which its migrations describe.

A referral and everything hanging on it (its thread, its information requests, its deadlines) is seen
by two institutions, the sender and the recipient: each such table carries both ids
(:class:`SharedBySenderAndRecipient`) and is registered with the shared visibility rule in
``create_app``, so every query must say whose view it is (``viewed_by``) and a third institution's query
finds nothing (404). A referral still being sent (or whose sending failed) is the sender's alone: the
recipient sees it from the moment intake froze the disclosure (docs/adr/0060-referral-service.md).
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Field

from comitas_shared.auth import InstitutionId
from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables
from comitas_shared.visibility import table_models

registry = new_registry()
Base = make_base(registry)
metadata = registry.metadata
tables = define_platform_tables(metadata)

# States in which a referral is not (yet, or ever) the recipient's to see.
NOT_DELIVERED = ("sending", "failed")


class SharedBySenderAndRecipient(Base):
    """Columns and visibility of a row that belongs to one referral, and so to both its institutions."""

    sender_institution_id: str = Field(max_length=64, index=True)
    recipient_institution_id: str = Field(max_length=64, index=True)
    # Only the referral itself has a state that hides it from the recipient (its children exist once sent).
    hidden_from_recipient_while: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def visible_to(cls, viewer: InstitutionId) -> ColumnElement[bool]:
        if cls.hidden_from_recipient_while:
            state = cls.state  # type: ignore[attr-defined]
            return or_(cls.sender_institution_id == viewer,  # type: ignore[arg-type]
                       and_(cls.recipient_institution_id == viewer,  # type: ignore[arg-type]
                            state.notin_(cls.hidden_from_recipient_while)))
        return or_(cls.sender_institution_id == viewer,  # type: ignore[arg-type]
                   cls.recipient_institution_id == viewer)  # type: ignore[arg-type]


def load_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete (migrations, checks)."""
    from .directory import models as _directory  # noqa: F401
    from .receipts import models as _receipts  # noqa: F401
    from .referrals import models as _referrals  # noqa: F401
    from .thread import models as _thread  # noqa: F401


def shared_models() -> list[type[SharedBySenderAndRecipient]]:
    """Every table the two institutions of a referral see, for the visibility rule."""
    load_all_models()
    return table_models(SharedBySenderAndRecipient)
