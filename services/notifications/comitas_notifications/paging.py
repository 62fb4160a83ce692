"""Cursor pages over (timestamp, id), newest first unless told otherwise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_

from comitas_shared.pagination import PageRequest, encode_cursor

T = TypeVar("T")


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
