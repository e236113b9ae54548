"""Salesforce as the sync engine's CRM: Contacts, Accounts and Opportunities over REST.

Idempotent creates use Salesforce's own mechanism, the upsert by external id: a create is
`PATCH /sobjects/{type}/{external_id_field}/{idempotency_key}`, so a retry with the same key
finds the record the first attempt made and updates it instead of making another. Such a
PATCH (and a PATCH by record id, and a composite of them) is safe to replay, so the policy
layer may retry it after a lost answer. The org needs the external-id field (see `spec`);
without it every create fails with `MissingExternalIdField`.

Changes are polled: a SOQL query on `SystemModstamp` ordered by (SystemModstamp, Id), paged
through Salesforce's query locator (`nextRecordsUrl`) while it lives and by the (SystemModstamp,
Id) of the last record read after that; deletions come from the delete log
(`/sobjects/{type}/deleted/`) once the query is read to its end. Salesforce's Change Data
Capture is a streaming (CometD / Pub/Sub) API, not HTTP webhooks, so `parse_webhook` is left
unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import CRM
from gigforge.integrations.framework.errors import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.framework.records import ChangePage, Pipeline, RecordKind, RemoteRecord
from gigforge.integrations.framework.transport import SAFE_TO_REPLAY
from gigforge.integrations.salesforce.mapping import (
    CURRENCY_FIELD,
    ENTITY_IS_DELETED,
    FIELD_NAMES,
    INVALID_QUERY_LOCATOR,
    MISSING_EXTERNAL_ID,
    NOT_FOUND,
    ORGANIZATION_SOQL,
    PROCESSING_HALTED,
    REQUEST_LIMIT_EXCEEDED,
    STAGES_SOQL,
    ChangeCursor,
    SalesforceError,
    UnwritableField,
    UpsertItem,
    changes_soql,
    check_reference,
    deleted_record,
    errors_from_excerpt,
    errors_of,
    has_field,
    iso_time,
    locator_path,
    parse_limit_info,
    parse_time,
    read_fields,
    sobject,
    to_body,
    to_pipeline,
    to_record,
)
from gigforge.integrations.salesforce.spec import (
    API_PATH,
    LIMIT_INFO_HEADER,
    LOGIN_HOSTS,
    SPEC,
    SalesforceConfig,
)

_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
# Salesforce says nothing about when a spent 24-hour allocation frees up again; an hour is
# our choice of a wait that neither hammers the org nor stalls the sync for a day.
LIMIT_WAIT_SECONDS = 3600.0
# The delete log ignores seconds and refuses windows reaching back further than 30 days.
DELETED_MIN_WINDOW = timedelta(minutes=1)
DELETED_MAX_AGE = timedelta(days=29)
# A first read with no `since` starts the delete log a little before now, for clock skew.
DELETED_SKEW = timedelta(minutes=2)
# Composite takes 25 subrequests; each item is written and then read back.
COMPOSITE_MAX_ITEMS = 12


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MissingExternalIdField(Permanent):
    code = "salesforce-missing-external-id-field"
    title = "The Salesforce org lacks Gigforge's external-id field"


class SalesforceConnector(CRM):
    spec = SPEC
    # `Sforce-Query-Options: batchSize`: Salesforce takes 200 to 2000 and may send more.
    page_size: ClassVar[int] = 200
    config: SalesforceConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, SalesforceConfig):
            raise TypeError(f"{SPEC.title} needs a SalesforceConfig, not {type(config)!r}")
        if client.base_url.host in LOGIN_HOSTS:
            raise Permanent(
                f"{SPEC.title}: {client.base_url.host} serves sign-in but no org's data. "
                "Connect again with your org's My Domain URL as the base URL "
                "(https://<your-domain>.my.salesforce.com).",
                integration=SPEC.slug,
            )
        super().__init__(client, config)
        self.clock: Callable[[], datetime] = _utcnow
        self.api_usage: tuple[int, int] | None = None
        base = str(client.base_url).rstrip("/")
        self._api_path = client.base_url.path.rstrip("/")
        self._site = base.removesuffix(API_PATH)
        self._describes: dict[str, Mapping[str, Any]] = {}
        self._default_currency: str | None = None

    async def test(self) -> dict[str, Any]:
        limits = await self._json("GET", "/limits")
        daily = limits.get("DailyApiRequests") or {}
        return {"daily_api_requests": daily.get("Max"), "remaining": daily.get("Remaining")}

    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None:
        name = self._sobject(kind)
        fields = await self._read_fields(kind)
        try:
            raw = await self._json(
                "GET",
                f"/sobjects/{name}/{self._record_id(external_id)}",
                params={"fields": ",".join(fields)},
            )
        except Permanent as exc:
            if exc.extensions.get("error_code") in {NOT_FOUND, ENTITY_IS_DELETED}:
                return None
            raise
        return await self._to_record(kind, raw)

    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        idempotency_key: str,
    ) -> RemoteRecord:
        name = self._sobject(kind)
        body = await self._body(kind, fields)
        if external_id is None:
            answer = await self._json(
                "PATCH", self._upsert_path(name, idempotency_key), json=body, replay=True
            )
            record_id = str(answer["id"])
        else:
            record_id = self._record_id(external_id)
            await self._request("PATCH", f"/sobjects/{name}/{record_id}", json=body, replay=True)
        record = await self.get(kind, record_id)
        if record is None:
            raise Permanent(
                f"{SPEC.title}: {name} {record_id} was gone right after it was written",
                integration=SPEC.slug,
            )
        return record

    async def delete(self, kind: RecordKind, external_id: str) -> None:
        """Delete the record; one already deleted (or never there) counts as done."""
        name = self._sobject(kind)
        try:
            await self._request("DELETE", f"/sobjects/{name}/{self._record_id(external_id)}")
        except Permanent as exc:
            if exc.extensions.get("error_code") not in {NOT_FOUND, ENTITY_IS_DELETED}:
                raise

    async def changes(
        self, kind: RecordKind, *, since: datetime | None, cursor: str | None = None
    ) -> ChangePage:
        """One batch of the SOQL query (at least `page_size` records, as Salesforce batches
        them); after the last batch, the deletions the delete log holds since the last read."""
        name = self._sobject(kind)
        fields = await self._read_fields(kind)
        if cursor is not None:
            state = ChangeCursor.decode(cursor)
        else:
            state = ChangeCursor(deleted_since=since or self.clock() - DELETED_SKEW)
        body: Mapping[str, Any] | None = None
        if state.locator is not None:
            body = await self._locator(state.locator)
        if body is None:
            after = (state.stamp, state.id) if state.stamp and state.id else None
            soql = changes_soql(kind, fields, since=None if after else since, after=after)
            body = await self._json(
                "GET", "/query", params={"q": soql}, headers=self._batch_header()
            )
        records = [await self._to_record(kind, raw) for raw in body.get("records") or ()]
        stamp, last_id = (records[-1].updated_at, records[-1].id) if records else (None, None)
        stamp, last_id = stamp or state.stamp, last_id or state.id
        if not body.get("done", True):
            locator = locator_path(str(body["nextRecordsUrl"]), self._api_path)
            after_page = ChangeCursor(stamp, last_id, locator, state.deleted_since)
            return ChangePage(records=records, cursor=after_page.encode(), has_more=True)
        deleted, deleted_since = await self._deleted(kind, name, state.deleted_since)
        done = ChangeCursor(stamp, last_id, None, deleted_since)
        return ChangePage(records=[*records, *deleted], cursor=done.encode(), has_more=False)

    async def pipelines(self) -> list[Pipeline]:
        describe = await self._describe("Opportunity")
        stages = await self._query_all(STAGES_SOQL)
        return to_pipeline(describe, stages)

    async def upsert_many(self, items: Sequence[UpsertItem]) -> list[RemoteRecord]:
        """Write up to 12 records in one composite request, all or none: a contact with its
        account and opportunity, say, linked through `links`. Creates are upserts by external
        id as in `upsert`, so a retry of the whole request makes nothing twice. Returns the
        records as Salesforce now has them, in the order of `items`."""
        if not items:
            return []
        if len(items) > COMPOSITE_MAX_ITEMS:
            raise ValueError(f"a composite write takes at most {COMPOSITE_MAX_ITEMS} records")
        subrequests: list[dict[str, Any]] = []
        reads: list[dict[str, Any]] = []
        known: dict[str, str] = {}
        for item in items:
            reference = check_reference(item.reference)
            if reference in known:
                raise ValueError(f"composite reference {reference!r} is used twice")
            name = self._sobject(item.kind)
            body = await self._body(item.kind, item.fields)
            for relation, target in (item.links or {}).items():
                field = FIELD_NAMES[item.kind].get(relation)
                if field is None or relation not in {"company", "contact"}:
                    raise ValueError(f"a {item.kind.value} cannot link {relation!r}")
                if target not in known:
                    raise ValueError(f"{reference} links {target!r}, not written before it")
                body[field] = known[target]
            if item.external_id is None:
                url = API_PATH + self._upsert_path(name, item.idempotency_key)
                known[reference] = f"@{{{reference}.id}}"
            else:
                record_id = self._record_id(item.external_id)
                url = f"{API_PATH}/sobjects/{name}/{record_id}"
                known[reference] = record_id
            subrequests.append(
                {"method": "PATCH", "url": url, "referenceId": reference, "body": body}
            )
            fields = ",".join(await self._read_fields(item.kind))
            reads.append(
                {
                    "method": "GET",
                    "url": f"{API_PATH}/sobjects/{name}/{known[reference]}?fields={fields}",
                    "referenceId": f"{reference}_read",
                }
            )
        answer = await self._json(
            "POST",
            "/composite",
            json={"allOrNone": True, "compositeRequest": [*subrequests, *reads]},
            replay=True,
        )
        results = {
            str(part.get("referenceId")): part for part in answer.get("compositeResponse") or ()
        }
        self._raise_composite_failure(results)
        return [
            await self._to_record(item.kind, results[f"{item.reference}_read"]["body"])
            for item in items
        ]

    # Reading and writing

    async def _body(self, kind: RecordKind, fields: Mapping[str, Any]) -> dict[str, Any]:
        multi, default = (False, None)
        if kind is RecordKind.deal and ("amount_minor" in fields or "currency" in fields):
            multi, default = await self._currencies()
        try:
            return to_body(kind, fields, multi_currency=multi, default_currency=default)
        except UnwritableField as exc:
            raise Permanent(f"{SPEC.title}: {exc}", integration=SPEC.slug) from None

    async def _to_record(self, kind: RecordKind, raw: Mapping[str, Any]) -> RemoteRecord:
        default = None
        if kind is RecordKind.deal and not raw.get(CURRENCY_FIELD):
            default = (await self._currencies())[1]
        return to_record(kind, raw, site=self._site, default_currency=default)

    async def _read_fields(self, kind: RecordKind) -> tuple[str, ...]:
        multi = kind is RecordKind.deal and (await self._currencies())[0]
        return read_fields(kind, multi_currency=multi)

    async def _currencies(self) -> tuple[bool, str | None]:
        """Whether the org keeps a currency per record (multi-currency), and else its one
        currency, from `Organization.DefaultCurrencyIsoCode`."""
        multi = has_field(await self._describe("Opportunity"), CURRENCY_FIELD)
        if multi:
            return True, None
        if self._default_currency is None:
            rows = await self._query_all(ORGANIZATION_SOQL)
            if not rows or not rows[0].get("DefaultCurrencyIsoCode"):
                raise Permanent(
                    f"{SPEC.title}: the org's default currency could not be read",
                    integration=SPEC.slug,
                )
            self._default_currency = str(rows[0]["DefaultCurrencyIsoCode"])
        return False, self._default_currency

    async def _describe(self, name: str) -> Mapping[str, Any]:
        if name not in self._describes:
            self._describes[name] = await self._json("GET", f"/sobjects/{name}/describe")
        return self._describes[name]

    async def _query_all(self, soql: str) -> list[Mapping[str, Any]]:
        body = await self._json("GET", "/query", params={"q": soql})
        rows = list(body.get("records") or ())
        while not body.get("done", True):
            path = locator_path(str(body["nextRecordsUrl"]), self._api_path)
            body = await self._json("GET", f"/{path}")
            rows.extend(body.get("records") or ())
        return rows

    async def _locator(self, path: str) -> Mapping[str, Any] | None:
        """The next batch of an open query, or None once Salesforce has let the locator go
        (it keeps one for 15 minutes of inactivity)."""
        try:
            return await self._json("GET", f"/{path}", headers=self._batch_header())
        except Permanent as exc:
            if exc.extensions.get("error_code") in {INVALID_QUERY_LOCATOR, NOT_FOUND}:
                return None
            raise

    async def _deleted(
        self, kind: RecordKind, name: str, since: datetime | None
    ) -> tuple[list[RemoteRecord], datetime | None]:
        """Deletions from the delete log after `since`, and where the next read starts
        (`latestDateCovered`, as Salesforce advises)."""
        now = self.clock()
        if since is None:
            return [], now - DELETED_SKEW
        start = max(since, now - DELETED_MAX_AGE)
        if now - start < DELETED_MIN_WINDOW:
            return [], since
        body = await self._json(
            "GET",
            f"/sobjects/{name}/deleted/",
            params={"start": iso_time(start), "end": iso_time(now)},
        )
        rows = sorted(body.get("deletedRecords") or (), key=lambda row: str(row["deletedDate"]))
        covered = body.get("latestDateCovered")
        return [deleted_record(kind, row) for row in rows], (
            parse_time(str(covered)) if covered else now
        )

    # The wire

    def _batch_header(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.page_size}"}

    def _upsert_path(self, name: str, key: str) -> str:
        if not key:
            raise ValueError("an idempotency key is needed to create a Salesforce record")
        return f"/sobjects/{name}/{self.config.external_id_field}/{quote(key, safe='')}"

    def _sobject(self, kind: RecordKind) -> str:
        try:
            return sobject(kind)
        except ValueError as exc:
            raise self.not_supported(kind.value, str(exc)) from None

    @staticmethod
    def _record_id(value: str) -> str:
        if not _RECORD_ID.match(value):
            raise Permanent(
                f"{SPEC.title}: {value!r} is not a Salesforce record id", integration=SPEC.slug
            )
        return value

    async def _json(
        self, method: str, path: str, *, replay: bool = False, **kwargs: Any
    ) -> Mapping[str, Any]:
        response = await self._request(method, path, replay=replay, **kwargs)
        body = response.json()
        if not isinstance(body, Mapping):
            raise Transient(
                f"{SPEC.title} answered {method} {path} with something other than an object",
                integration=SPEC.slug,
                status=response.status_code,
            )
        return body

    async def _request(
        self, method: str, path: str, *, replay: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One call; a refusal is re-raised with Salesforce's own error code and message."""
        extensions = {SAFE_TO_REPLAY: True} if replay else None
        try:
            response = await self.client.request(method, path, extensions=extensions, **kwargs)
        except IntegrationError as exc:
            raise self._translated(exc) from exc
        self.api_usage = parse_limit_info(response.headers.get(LIMIT_INFO_HEADER)) or self.api_usage
        return response

    def _translated(self, exc: IntegrationError) -> IntegrationError:
        if isinstance(exc, RateLimited) or not isinstance(exc, AuthExpired | Transient | Permanent):
            return exc
        errors = errors_from_excerpt(exc.extensions.get("body"))
        if not errors:
            return exc
        first = errors[0]
        if first.code == REQUEST_LIMIT_EXCEEDED:
            return RateLimited(
                f"{SPEC.title}: {first.message or 'the org has spent its API requests'}",
                integration=SPEC.slug,
                retry_after=LIMIT_WAIT_SECONDS,
                status=exc.upstream_status,
                error_code=first.code,
            )
        return self._error(type(exc), first, status=exc.upstream_status)

    def _error(
        self,
        kind: type[IntegrationError],
        error: SalesforceError,
        *,
        status: int | None,
        where: str = "",
    ) -> IntegrationError:
        if error.message.startswith(MISSING_EXTERNAL_ID):
            field = self.config.external_id_field
            return MissingExternalIdField(
                f"{SPEC.title}: {error.message}{where}. Add a Text(255) field {field} marked "
                "External ID and Unique to Contact, Account and Opportunity (Setup > Object "
                "Manager > Fields & Relationships), editable by the connected user.",
                integration=SPEC.slug,
                status=status,
                error_code=error.code,
            )
        return kind(
            f"{SPEC.title}: {error.code}: {error.message}{where}",
            integration=SPEC.slug,
            status=status,
            error_code=error.code,
            fields=list(error.fields),
        )

    def _raise_composite_failure(self, results: Mapping[str, Mapping[str, Any]]) -> None:
        failed = [
            (reference, errors_of(part.get("body")))
            for reference, part in results.items()
            if int(part.get("httpStatusCode") or 0) >= 400
        ]
        if not failed:
            return
        for reference, errors in failed:
            cause = next((e for e in errors if e.code != PROCESSING_HALTED), None)
            if cause is not None:
                raise self._error(
                    Permanent,
                    cause,
                    status=400,
                    where=f" (composite part {reference}; nothing was written)",
                )
        raise Permanent(f"{SPEC.title}: the composite write was rolled back", integration=SPEC.slug)
