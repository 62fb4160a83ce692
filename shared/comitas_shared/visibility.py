"""Records seen by two institutions (a referral's sender and recipient, an MLA request's requesting and
requested authorities): who may see them is a property of the code, not of a reviewer's memory.

Each such model says who sees a row (``visible_to(viewer)``, a SQL condition) and is registered with
:func:`install_visibility`. From then on every ORM statement that touches it (SELECT, UPDATE, DELETE)
must say on whose behalf it runs:

- ``viewed_by(statement, viewer)``: the row filter is added to every occurrence of every registered
  model in the statement (joins and relationship loads included), so a third institution's query simply
  finds nothing (404);
- ``across_institutions(statement, reason)``: the explicit, greppable escape for the few places that
  must see every row (a worker claiming due work, housekeeping); the reason is required.

A statement with neither raises :class:`UnscopedQuery` before it reaches the database: forgetting the
viewer fails closed, in the first test that runs the query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from sqlalchemy import ClauseElement, ColumnElement, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import Executable
from sqlalchemy.sql.util import find_tables

from .auth import InstitutionId

VIEWER = "comitas_viewer"
ACROSS = "comitas_across_institutions"

S = TypeVar("S", bound=Executable)
M = TypeVar("M")


class SharedRecord(Protocol):
    """A model whose rows two (or more) institutions see."""

    @classmethod
    def visible_to(cls, viewer: InstitutionId) -> ColumnElement[bool]: ...


class UnscopedQuery(RuntimeError):
    """A statement on a two-party model that names neither a viewer nor a reason to see all rows."""


def viewed_by(statement: S, viewer: InstitutionId) -> S:
    """``statement`` as ``viewer`` sees it: only rows ``visible_to(viewer)``."""
    if not viewer:
        raise UnscopedQuery("a viewer is required")
    return statement.execution_options(**{VIEWER: str(viewer)})


def across_institutions(statement: S, reason: str) -> S:
    """``statement`` over every institution's rows; ``reason`` says why (and makes the place greppable)."""
    if not reason.strip():
        raise UnscopedQuery("seeing every institution's rows needs a reason")
    return statement.execution_options(**{ACROSS: reason})


def table_models(base: type[M]) -> list[type[M]]:
    """Every mapped table among ``base``'s subclasses, at any depth (the models a service shares between
    two institutions: load its models first, so every subclass is defined)."""
    found: list[type[M]] = []
    for sub in base.__subclasses__():
        found += [sub, *table_models(sub)]
    return [model for model in found if hasattr(model, "__table__")]


def install_visibility(session_class: type[Session], models: Iterable[type[Any]]) -> None:
    """Enforces the rule on every session of ``session_class`` (the service's sync session class, which
    its async sessions wrap) for ``models``."""
    registered = tuple(models)
    tables = {model.__table__ for model in registered}

    @event.listens_for(session_class, "do_orm_execute")
    def _scope(state: ORMExecuteState) -> None:
        if not (state.is_select or state.is_update or state.is_delete):
            return
        if not _touches(state, tables):
            return
        if state.execution_options.get(ACROSS):
            return
        viewer = state.execution_options.get(VIEWER)
        if not viewer:
            raise UnscopedQuery(
                f"a query on {', '.join(sorted(t.name for t in tables))} must say whose view it is "
                "(viewed_by) or why it sees every institution (across_institutions)")
        state.statement = state.statement.options(*(
            with_loader_criteria(model, _criteria_for(model, InstitutionId(viewer)), include_aliases=True)
            for model in registered))


def _criteria_for(model: type[Any], viewer: InstitutionId) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = model.visible_to(viewer)
    return condition


def _touches(state: ORMExecuteState, tables: set[Any]) -> bool:
    statement = state.statement
    if not isinstance(statement, ClauseElement):
        return False
    found = find_tables(statement, check_columns=True, include_aliases=True, include_joins=True,
                        include_selects=True, include_crud=True)
    return any(getattr(table, "element", table) in tables for table in found)
