"""HubSpot's contacts, companies and deals through the CRM v3 object API.

Idempotent creates: HubSpot takes no idempotency key, so each record Gigforge creates carries
our key in the custom property `gigforge_ref`, and `upsert` without an `external_id` first
searches for a record holding that key (reconcile by reference). A retry after a lost answer
finds the record and brings it up to date instead of creating a second one; the associations
(PUT, idempotent) are made again either way, so a crash between the create and the association
heals on the retry. HubSpot's search index trails writes by a few seconds, so the retry of a
create whose answer was lost should come after that (the task engine's backoff does).

Associations use the v4 default association type (`PUT
/crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}`): a contact to its company, a deal
to its contact and company. Records come back read from HubSpot after every write, so callers
see what the CRM holds (a contact's `company` is HubSpot's `associatedcompanyid`).

Changes are read with the search API, filtered on the last modification time (GTE) and sorted
oldest first, paged with `after`. HubSpot pages a search no further than its 10,000th result, so
the cursor carries the time it searched from and, near that cap, restarts from the last
record's time. Archived records leave the search: deletions arrive by webhook, and `get`
answers None for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import CRM
from gigforge.integrations.framework.errors import (
    AuthExpired,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.framework.records import (
    ChangePage,
    Pipeline,
    RecordKind,
    RemoteRecord,
    WebhookReceipt,
)
from gigforge.integrations.framework.transport import SAFE_TO_REPLAY
from gigforge.integrations.hubspot.mapping import (
    OBJECT_TYPES,
    SEARCH_RESULT_CAP,
    UnmappableField,
    associations_to_make,
    decode_cursor,
    encode_cursor,
    error_from_excerpt,
    millis,
    read_properties,
    record_url,
    reference_search_body,
    search_body,
    to_changes,
    to_pipeline,
    to_properties,
    to_record,
)
from gigforge.integrations.hubspot.spec import REF_PROPERTY, SPEC, HubSpotConfig
from gigforge.integrations.hubspot.webhooks import read_events

REPLAYABLE = {SAFE_TO_REPLAY: True}
ASSOCIATED_TYPES = {RecordKind.deal: "contacts,companies"}


class HubSpotConnector(CRM):
    spec = SPEC
    # HubSpot's search serves at most 100 records a page (200 on newer accounts).
    page_size: ClassVar[int] = 100
    result_cap: ClassVar[int] = SEARCH_RESULT_CAP
    config: HubSpotConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, HubSpotConfig):
            raise TypeError(f"{SPEC.title} needs a HubSpotConfig, not {type(config)!r}")
        super().__init__(client, config)
        self._account: Mapping[str, Any] | None = None

    async def test(self) -> dict[str, Any]:
        account = await self._account_details()
        return {
            "portal_id": account.get("portalId"),
            "currency": account.get("companyCurrency"),
            "time_zone": account.get("timeZone"),
            "ui_domain": account.get("uiDomain"),
        }

    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        idempotency_key: str,
    ) -> RemoteRecord:
        object_type = _object_type(kind)
        currency = await self._default_currency() if _needs_currency(kind, fields) else None
        try:
            properties = to_properties(kind, fields, default_currency=currency)
        except (UnmappableField, ValueError) as exc:
            raise Permanent(f"{SPEC.title}: {exc}", integration=SPEC.slug) from None
        record_id = external_id
        if record_id is None:
            existing = await self._find_reference(kind, idempotency_key)
            if existing is None:
                created = await self._call(
                    "POST",
                    f"/crm/v3/objects/{object_type}",
                    json={"properties": {**properties, REF_PROPERTY: idempotency_key}},
                )
                record_id = str(created["id"])
                properties = {}
            else:
                record_id = existing
        if properties:
            await self._call(
                "PATCH",
                f"/crm/v3/objects/{object_type}/{record_id}",
                json={"properties": properties},
                extensions=REPLAYABLE,
            )
        for to_type, to_id in associations_to_make(kind, fields):
            await self._call(
                "PUT",
                f"/crm/v4/objects/{kind.value}/{record_id}/associations/default/{to_type}/{to_id}",
            )
        record = await self.get(kind, record_id)
        if record is None:
            raise Permanent(
                f"{SPEC.title}: {kind.value} {record_id} was archived while it was written",
                integration=SPEC.slug,
            )
        return record

    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None:
        object_type = _object_type(kind)
        params = {"properties": ",".join(read_properties(kind))}
        if kind in ASSOCIATED_TYPES:
            params["associations"] = ASSOCIATED_TYPES[kind]
        try:
            raw = await self._call(
                "GET", f"/crm/v3/objects/{object_type}/{external_id}", params=params
            )
        except Permanent as exc:
            if exc.upstream_status == 404:
                return None
            raise
        return await self._record(kind, raw)

    async def delete(self, kind: RecordKind, external_id: str) -> None:
        """Archives the record (HubSpot keeps it restorable for 90 days); one already gone is
        left as it is."""
        try:
            await self._call("DELETE", f"/crm/v3/objects/{_object_type(kind)}/{external_id}")
        except Permanent as exc:
            if exc.upstream_status != 404:
                raise

    async def changes(
        self, kind: RecordKind, *, since: datetime | None, cursor: str | None = None
    ) -> ChangePage:
        object_type = _object_type(kind)
        if cursor is not None:
            try:
                since_ms, after = decode_cursor(cursor)
            except ValueError as exc:
                raise Permanent(f"{SPEC.title}: {exc}", integration=SPEC.slug) from None
        else:
            since_ms, after = (millis(since) if since is not None else None), None
        page = await self._call(
            "POST",
            f"/crm/v3/objects/{object_type}/search",
            json=search_body(kind, since_ms=since_ms, after=after, limit=self.page_size),
            extensions=REPLAYABLE,
        )
        records = [await self._record(kind, raw) for raw in page.get("results") or ()]
        next_after = ((page.get("paging") or {}).get("next") or {}).get("after")
        last_ms = millis(records[-1].updated_at) if records else since_ms
        if next_after is None:
            return ChangePage(records=records, cursor=encode_cursor(last_ms, None))
        if int(next_after) + self.page_size > self.result_cap:
            # The search pages no further: ask again from the last record's time (records
            # changed in that same millisecond come again, which a sync applies twice safely).
            return ChangePage(records=records, cursor=encode_cursor(last_ms, None), has_more=True)
        return ChangePage(
            records=records, cursor=encode_cursor(since_ms, str(next_after)), has_more=True
        )

    async def pipelines(self) -> list[Pipeline]:
        body = await self._call("GET", "/crm/v3/pipelines/deals")
        return [to_pipeline(raw) for raw in body.get("results") or () if not raw.get("archived")]

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, method: str = "POST"
    ) -> WebhookReceipt:
        secret = self.config.client_secret
        if secret is None:
            raise Permanent(
                f"{SPEC.title}: the connection has no client secret to verify webhooks with",
                integration=SPEC.slug,
            )
        events = read_events(
            headers, body, secret=secret.get_secret_value(), url=url, method=method
        )
        try:
            return WebhookReceipt(changes=to_changes(events))
        except (ValueError, KeyError) as exc:
            raise Permanent(
                f"{SPEC.title}: the webhook events could not be read: {exc}",
                integration=SPEC.slug,
            ) from None

    async def _find_reference(self, kind: RecordKind, reference: str) -> str | None:
        """The id of the record created with this idempotency key, if any."""
        found = await self._call(
            "POST",
            f"/crm/v3/objects/{_object_type(kind)}/search",
            json=reference_search_body(kind, reference),
            extensions=REPLAYABLE,
        )
        results = [r for r in found.get("results") or () if r.get("id") is not None]
        if not results:
            return None
        return str(min(results, key=lambda r: int(str(r["id"])))["id"])

    async def _record(self, kind: RecordKind, raw: Mapping[str, Any]) -> RemoteRecord:
        account = await self._account_details()
        portal, domain = account.get("portalId"), account.get("uiDomain") or "app.hubspot.com"
        try:
            return to_record(
                kind,
                raw,
                default_currency=account.get("companyCurrency"),
                record_url=(
                    record_url(str(domain), portal, kind, str(raw["id"])) if portal else None
                ),
            )
        except (KeyError, ValueError) as exc:
            raise Permanent(
                f"{SPEC.title} sent a {kind.value} that could not be read: {exc}",
                integration=SPEC.slug,
            ) from None

    async def _account_details(self) -> Mapping[str, Any]:
        if self._account is None:
            account = await self._call("GET", "/account-info/v3/details")
            self._account = account if isinstance(account, Mapping) else {}
        return self._account

    async def _default_currency(self) -> str | None:
        currency = (await self._account_details()).get("companyCurrency")
        return str(currency) if currency else None

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call through the policy layer: the JSON answer (None for 204), or the
        framework error carrying HubSpot's own message and category."""
        try:
            response = await self.client.request(method, path, **kwargs)
        except (Permanent, AuthExpired) as exc:
            raise error_from_excerpt(
                exc.extensions.get("body"), status=exc.upstream_status
            ) from exc
        except RateLimited as exc:
            mapped = error_from_excerpt(exc.extensions.get("body"), status=429)
            raise RateLimited(
                mapped.detail,
                integration=SPEC.slug,
                retry_after=exc.retry_after,
                status=exc.upstream_status,
                category=mapped.extensions.get("category"),
            ) from exc
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise Transient(
                f"{SPEC.title} answered {response.status_code} without a JSON body",
                integration=SPEC.slug,
                status=response.status_code,
            ) from None


def _object_type(kind: RecordKind) -> str:
    try:
        return OBJECT_TYPES[kind]
    except KeyError:
        raise Permanent(
            f"{SPEC.title} holds contacts, companies and deals, not {kind.value}s",
            integration=SPEC.slug,
        ) from None


def _needs_currency(kind: RecordKind, fields: Mapping[str, Any]) -> bool:
    return (
        kind is RecordKind.deal
        and fields.get("amount_minor") is not None
        and not fields.get("currency")
    )
