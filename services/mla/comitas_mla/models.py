"""mla's tables share one registry (its own MetaData), which its migrations describe.

Every MLA row is seen by two institutions, the requesting and the requested authority: each table
carries both ids (:class:`SharedByTwoAuthorities`) and is registered with the shared visibility rule in
``create_app``, so every query must say whose view it is (``viewed_by``) and a third institution's
query finds nothing (docs/adr/0050-mla-service.md).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlmodel import Field

from comitas_shared.auth import InstitutionId
from comitas_shared.db import make_base, new_registry
from comitas_shared.platform_tables import define_platform_tables
from comitas_shared.visibility import table_models

registry = new_registry()
Base = make_base(registry)
metadata = registry.metadata
tables = define_platform_tables(metadata)


class SharedByTwoAuthorities(Base):
    """Columns and visibility of a row that belongs to one MLA request, and so to both its authorities."""

    requesting_institution_id: str = Field(max_length=64, index=True)
    requested_institution_id: str = Field(max_length=64, index=True)

    @classmethod
    def visible_to(cls, viewer: InstitutionId) -> ColumnElement[bool]:
        return or_(cls.requesting_institution_id == viewer,  # type: ignore[arg-type]
                   cls.requested_institution_id == viewer)  # type: ignore[arg-type]


def load_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete (migrations, checks)."""
    from .requests import models as _requests  # noqa: F401
    from .results import models as _results  # noqa: F401


def shared_models() -> list[type[SharedByTwoAuthorities]]:
    """Every table two authorities see, for the visibility rule."""
    load_all_models()
    return table_models(SharedByTwoAuthorities)
