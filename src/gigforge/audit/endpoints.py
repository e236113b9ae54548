from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.audit.schemas import AuditRecordRead
from gigforge.audit.service import audit as audit_service
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import Unauthorized
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import problem_responses

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "",
    response_model=Page[AuditRecordRead],
    responses=problem_responses(Unauthorized, InvalidToken, InsufficientScope),
)
async def list_audit_records(
    session: SessionDep,
    page: PageParamsDep,
    principal: Annotated[Principal, RequireScope(Scope.audit_read)],
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditRecordRead]:
    """Newest first: records by or about you; admins see every record."""
    items, total = await audit_service.list(
        session,
        visible_to=None if principal.is_admin else principal.user_id,
        page=page,
        action=action,
    )
    return page_of(AuditRecordRead, items, total, page)
