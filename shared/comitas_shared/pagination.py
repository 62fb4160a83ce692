"""Cursor pagination: opaque cursors over (created_at, id), bounded page sizes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_

from .errors import Unprocessable

T = TypeVar("T")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageRequest(BaseModel):
    limit: int
    after: tuple[datetime, str] | None


def encode_cursor(created_at: datetime, id_: str) -> str:
    raw = json.dumps([created_at.isoformat(), id_]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, id_ = json.loads(raw)
        return datetime.fromisoformat(created), str(id_)
    except (ValueError, TypeError) as exc:
        raise Unprocessable("the cursor is not one this service issued", slug="invalid-cursor") from exc


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


def paginate(query: Select[Any], page: PageRequest, *, at: Any, id_: Any, ascending: bool = False) -> Select[Any]:
    """Adds the cursor condition, the order and the limit (one more row than asked, to see if there is
    a next page)."""
    if page.after is not None:
        after_at, after_id = page.after
        if ascending:
            query = query.where(or_(at > after_at, and_(at == after_at, id_ > after_id)))
        else:
            query = query.where(or_(at < after_at, and_(at == after_at, id_ < after_id)))
    order = (at.asc(), id_.asc()) if ascending else (at.desc(), id_.desc())
    return query.order_by(*order).limit(page.limit + 1)


def page_of(rows: Sequence[T], page: PageRequest, key: Callable[[T], tuple[datetime, str]]) -> tuple[list[T], str | None]:
    items = list(rows[: page.limit])
    if len(rows) > page.limit and items:
        return items, encode_cursor(*key(items[-1]))
    return items, None
