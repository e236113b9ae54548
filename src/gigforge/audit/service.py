"""Append to and verify the audit chain.

Each record's hash covers its fields and the previous record's hash, so editing or deleting a
row breaks the chain from that point on. Appends first bump the single head row: that takes the
row lock on PostgreSQL and the write lock on SQLite, so concurrent appends queue instead of
forking the chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.audit.models import GENESIS_HASH, AuditHead, AuditRecord
from gigforge.audit.repository import AuditRepository
from gigforge.kit.actor import SYSTEM as SYSTEM
from gigforge.kit.actor import Actor as Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.pagination import PageParams
from gigforge.kit.redaction import redact

HEAD_ID = 1
VERIFY_BATCH = 1000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None


def _digest(record: AuditRecord) -> str:
    fields = {
        "seq": record.seq,
        "occurred_at": record.occurred_at.isoformat(),
        "action": record.action,
        "user_id": str(record.user_id) if record.user_id else None,
        "actor_user_id": str(record.actor_user_id) if record.actor_user_id else None,
        "actor_api_key_id": str(record.actor_api_key_id) if record.actor_api_key_id else None,
        "actor_ip": record.actor_ip,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "data": record.data,
        "prev_hash": record.prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_safe(data: dict[str, Any] | None) -> dict[str, Any]:
    cleaned = json.loads(json.dumps(redact(data or {}), default=str))
    assert isinstance(cleaned, dict)
    return cleaned


class AuditService:
    async def record(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        action: str,
        user_id: uuid.UUID | None = None,
        target_type: str | None = None,
        target_id: object | None = None,
        data: dict[str, Any] | None = None,
    ) -> AuditRecord:
        bumped = await session.execute(
            update(AuditHead)
            .where(AuditHead.id == HEAD_ID)
            .values(seq=AuditHead.seq + 1)
            .returning(AuditHead.seq, AuditHead.hash)
        )
        seq, prev_hash = bumped.one()
        record = AuditRecord(
            seq=seq,
            occurred_at=utcnow(),
            action=action,
            user_id=user_id if user_id is not None else actor.user_id,
            actor_user_id=actor.user_id,
            actor_api_key_id=actor.api_key_id,
            actor_ip=actor.ip,
            target_type=target_type,
            target_id=str(target_id) if target_id is not None else None,
            data=_json_safe(data),
            prev_hash=prev_hash,
        )
        record.hash = _digest(record)
        session.add(record)
        await session.execute(
            update(AuditHead).where(AuditHead.id == HEAD_ID).values(hash=record.hash)
        )
        await session.flush()
        return record

    async def list(
        self,
        session: AsyncSession,
        *,
        visible_to: uuid.UUID | None,
        page: PageParams,
        action: str | None = None,
    ) -> tuple[Sequence[AuditRecord], int]:
        """Records about or by one user; every record when `visible_to` is None (admins)."""
        repository = AuditRepository(session)
        statement = select(AuditRecord).order_by(AuditRecord.seq.desc())
        if visible_to is not None:
            statement = statement.where(
                or_(AuditRecord.user_id == visible_to, AuditRecord.actor_user_id == visible_to)
            )
        if action is not None:
            statement = statement.where(AuditRecord.action == action)
        return await repository.paginate(statement, page)

    async def verify(self, session: AsyncSession) -> VerifyResult:
        expected_prev = GENESIS_HASH
        expected_seq = 1
        checked = 0
        while True:
            batch = (
                (
                    await session.execute(
                        select(AuditRecord)
                        .where(AuditRecord.seq >= expected_seq)
                        .order_by(AuditRecord.seq)
                        .limit(VERIFY_BATCH)
                    )
                )
                .scalars()
                .all()
            )
            for record in batch:
                if record.seq != expected_seq:
                    return VerifyResult(
                        False, checked, expected_seq, f"record {expected_seq} is missing"
                    )
                if record.prev_hash != expected_prev:
                    return VerifyResult(
                        False, checked, record.seq, "does not follow the previous record"
                    )
                if _digest(record) != record.hash:
                    return VerifyResult(False, checked, record.seq, "was changed after writing")
                expected_prev = record.hash
                expected_seq += 1
                checked += 1
            if len(batch) < VERIFY_BATCH:
                break
        head = await session.get(AuditHead, HEAD_ID)
        if head is None:
            return VerifyResult(False, checked, None, "the chain head is missing")
        if head.seq < checked:
            return VerifyResult(
                False, checked, head.seq + 1, "records after the chain head were added"
            )
        if head.seq != checked or head.hash != expected_prev:
            return VerifyResult(
                False, checked, checked + 1, f"records {checked + 1} to {head.seq} are missing"
            )
        return VerifyResult(True, checked)


audit = AuditService()
