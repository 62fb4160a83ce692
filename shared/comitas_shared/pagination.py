"""Cursor pagination: opaque cursors over (sort column, id), bounded page sizes.

A list declares its sort once, as a :class:`PageKey` of two mapped columns; the repository applies it
to the query (:meth:`PageKey.apply`) and the service cuts the rows into a :class:`Page` with the same
key (:meth:`PageKey.cut`), so the order and the cursor can never disagree.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_

from .errors import Unprocessable

T = TypeVar("T")
R = TypeVar("R")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is absent on the last page."""

    items: list[T]
    next_cursor: str | None = None


class PageRequest(BaseModel):
    limit: int
    after: tuple[datetime, str] | None


def encode_cursor(at: datetime, id_: str) -> str:
    raw = json.dumps([at.isoformat(), id_]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, id_ = json.loads(raw)
        return datetime.fromisoformat(at), str(id_)
    except (ValueError, TypeError) as exc:
        raise Unprocessable("the cursor is not one this service issued", slug="invalid-cursor") from exc


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageQuery = Annotated[PageRequest, Depends(page_request)]
"""A router's ``page: PageQuery`` parameter: ``limit`` and ``cursor`` from the query string."""


@dataclass(frozen=True)
class PageKey:
    """The order of one list: a timestamp column, then the id column to break ties."""

    at: Any
    id: Any
    ascending: bool = False

    def apply(self, query: Select[Any], page: PageRequest) -> Select[Any]:
        """Adds the cursor condition, the order and the limit (one row more than asked, to see whether
        a next page exists)."""
        if page.after is not None:
            after_at, after_id = page.after
            if self.ascending:
                query = query.where(or_(self.at > after_at, and_(self.at == after_at, self.id > after_id)))
            else:
                query = query.where(or_(self.at < after_at, and_(self.at == after_at, self.id < after_id)))
        order = (self.at.asc(), self.id.asc()) if self.ascending else (self.at.desc(), self.id.desc())
        return query.order_by(*order).limit(page.limit + 1)

    def cursor_of(self, row: Any) -> str:
        return encode_cursor(getattr(row, self.at.key), str(getattr(row, self.id.key)))

    def cut(self, rows: Sequence[R], page: PageRequest, to_out: Callable[[R], T]) -> Page[T]:
        """The page of ``rows`` (as :meth:`apply` fetched them), each mapped by ``to_out``."""
        items = list(rows[: page.limit])
        cursor = self.cursor_of(items[-1]) if len(rows) > page.limit and items else None
        return Page[T](items=[to_out(row) for row in items], next_cursor=cursor)
