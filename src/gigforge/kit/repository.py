"""The base every repository builds on: one place for get, create, paging and user scoping."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gigforge.kit.db import Base
from gigforge.kit.pagination import PageParams

ModelT = TypeVar("ModelT", bound=Base)


class Repository(Generic[ModelT]):
    """Queries for one model. Subclasses set `model` and, for owned rows, `owner_column`."""

    model: type[ModelT]
    owner_column: str | None = "user_id"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def statement(self) -> Select[ModelT]:
        return select(self.model)

    def scoped(self, user_id: uuid.UUID) -> Select[ModelT]:
        """Rows owned by one user: the only way to read owned rows."""
        if self.owner_column is None:
            raise TypeError(f"{self.model.__name__} has no owner column")
        column: InstrumentedAttribute[Any] = getattr(self.model, self.owner_column)
        return self.statement().where(column == user_id)

    async def get(self, id: uuid.UUID) -> ModelT | None:
        return await self.session.get(self.model, id)

    async def get_one(self, statement: Select[ModelT]) -> ModelT | None:
        result = await self.session.execute(statement.limit(1))
        return result.scalars().first()

    async def get_owned(self, user_id: uuid.UUID, id: uuid.UUID) -> ModelT | None:
        pk: InstrumentedAttribute[Any] = getattr(self.model, "id")  # noqa: B009 - not on Base
        return await self.get_one(self.scoped(user_id).where(pk == id))

    async def all(self, statement: Select[ModelT]) -> Sequence[ModelT]:
        result = await self.session.execute(statement)
        return result.scalars().all()

    async def paginate(
        self, statement: Select[ModelT], page: PageParams
    ) -> tuple[Sequence[ModelT], int]:
        count_statement = select(func.count()).select_from(statement.order_by(None).subquery())
        total = (await self.session.execute(count_statement)).scalar_one()
        items = await self.all(statement.limit(page.limit).offset(page.offset))
        return items, total

    async def create(self, instance: ModelT) -> ModelT:
        self.session.add(instance)
        await self.session.flush()
        return instance
