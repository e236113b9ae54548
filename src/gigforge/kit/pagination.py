"""Offset paging shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)

MAX_PAGE_SIZE = 100
# Far past any list a user has, and far inside the 64-bit OFFSET every database takes: a
# larger offset is a 422, not an overflow inside the driver.
MAX_OFFSET = 1_000_000_000


class PageParams(BaseModel):
    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


def clamp_offset(offset: int) -> int:
    """An offset typed into a page's address, brought inside what PageParams accepts."""
    return min(max(offset, 0), MAX_OFFSET)


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageParamsDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def page_of(schema: type[S], rows: Sequence[object], total: int, page: PageParams) -> Page[S]:
    """A page of rows rendered through their read schema."""
    return Page(
        items=[schema.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
