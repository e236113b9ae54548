"""A local Salesforce org for tests and demo mode.

One app serves, at the real paths: the OAuth 2.0 web server flow (`/services/oauth2/authorize`
and `/token`, answering with `instance_url` and no `expires_in`, as Salesforce does), and under
`/services/data/v62.0` the REST calls the connector makes: `limits`, SOQL `query` with query
locators (`nextRecordsUrl`, `Sforce-Query-Options: batchSize`), sObject describe, get,
update, delete, upsert by external id, the delete log (`deleted/`) and `composite` with
`allOrNone` and `@{reference.field}` substitution. Every answer carries
`Sforce-Limit-Info: api-usage=N/M`; a spent allocation answers 403 `REQUEST_LIMIT_EXCEEDED`, a
missing or stale token 401 `INVALID_SESSION_ID`; errors are Salesforce's array
`[{"message", "errorCode", "fields"}]`.

Salesforce sends no HTTP webhooks for these changes, so the controls (`edit`, `remove`) change
records as a person in Salesforce would, visible to the connector's polling only.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, OAuthServer
from gigforge.integrations.salesforce import _sandbox_soql as soql
from gigforge.integrations.salesforce.spec import (
    API_PATH,
    DEFAULT_EXTERNAL_ID_FIELD,
    LIMIT_INFO_HEADER,
)

Body = Any
Outcome = tuple[int, Body]

PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityStage": "01J",
    "Organization": "00D",
}
COMMON = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted")
WRITABLE = {
    "Contact": ("FirstName", "LastName", "Email", "Phone", "AccountId", "LeadSource"),
    "Account": ("Name", "Website", "Industry"),
    "Opportunity": ("Name", "Amount", "StageName", "CloseDate", "AccountId", "ContactId"),
}
REQUIRED = {
    "Contact": ("LastName",),
    "Account": ("Name",),
    "Opportunity": ("Name", "StageName", "CloseDate"),
}
LOOKUPS = {"AccountId": "Account", "ContactId": "Contact"}
CURRENCIES = ("USD", "EUR", "GBP", "JPY")
STAGES = (
    ("Prospecting", False, False, 10),
    ("Qualification", False, False, 20),
    ("Proposal/Price Quote", False, False, 65),
    ("Negotiation/Review", False, False, 90),
    ("Closed Won", True, True, 100),
    ("Closed Lost", True, False, 0),
)
MAX_BATCH = 2000
MIN_BATCH = 200
COMPOSITE_LIMIT = 25
HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same "
    "transaction failed.",
}
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\}")
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character id: 15 case-sensitive characters and their case-folding checksum."""
    base = f"{prefix}5g{number:010d}"
    suffix = ""
    for chunk in range(3):
        part = base[chunk * 5 : chunk * 5 + 5]
        suffix += _CHECKSUM[sum(1 << i for i, c in enumerate(part) if c.isupper())]
    return base + suffix


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def error(status: int, code: str, message: str, fields: tuple[str, ...] = ()) -> Outcome:
    return status, [{"message": message, "errorCode": code, "fields": list(fields)}]


def render_error(status: int, message: str) -> Response:
    """Salesforce's error array; the renderer the fault injector uses too."""
    code = {429: "REQUEST_LIMIT_EXCEEDED", 503: "SERVER_UNAVAILABLE"}.get(status, "UNKNOWN")
    return JSONResponse(error(status, code, message)[1], status_code=status)


def _now() -> datetime:
    return datetime.now(UTC)


class SalesforceOAuth(OAuthServer):
    """The framework's authorization server answering as Salesforce's token endpoint does:
    `instance_url`, `id`, `issued_at` and `signature`, no `expires_in`, and a refresh answer
    without a new refresh token (Salesforce keeps the old one valid)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(rotate_refresh_tokens=False, **kwargs)
        self.org_id = salesforce_id(PREFIXES["Organization"], 1)
        self.user_id = salesforce_id("005", 1)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        answer = await super().token(request)
        if answer.status_code != 200:
            return answer
        body = json.loads(bytes(answer.body))
        body.pop("expires_in", None)
        if form.get("grant_type") == "refresh_token":
            body.pop("refresh_token", None)
        instance = str(request.base_url).rstrip("/")
        issued_at = str(int(self.clock() * 1000))
        identity = f"https://login.salesforce.com/id/{self.org_id}/{self.user_id}"
        digest = hmac.new(
            self.client_secret.encode(), f"{identity}{issued_at}".encode(), hashlib.sha256
        ).digest()
        body.update(
            token_type="Bearer",  # noqa: S106 - the scheme's name
            instance_url=instance,
            id=identity,
            issued_at=issued_at,
            signature=base64.b64encode(digest).decode(),
        )
        return JSONResponse(body)


Handler = Callable[[Request], Awaitable[Outcome]]


@dataclass
class SalesforceSandbox:
    """State a test reads and turns: records per sObject, the delete log, the API usage."""

    oauth: SalesforceOAuth
    faults: Faults
    clock: Callable[[], datetime] = _now
    multi_currency: bool = True
    external_id_field: str | None = DEFAULT_EXTERNAL_ID_FIELD
    default_currency: str = "USD"
    api_allocation: int = 15_000
    api_used: int = 0
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted_log: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    locators: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    app: ASGIApp = field(init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)

    def __post_init__(self) -> None:
        for name in (*WRITABLE, "OpportunityStage", "Organization"):
            self.records.setdefault(name, {})
            self.deleted_log.setdefault(name, [])
        self.add("Organization", DefaultCurrencyIsoCode=self.default_currency, Name="Sandbox")
        for order, (label, closed, won, probability) in enumerate(STAGES, start=1):
            self.add(
                "OpportunityStage",
                ApiName=label,
                MasterLabel=label,
                IsActive=True,
                IsClosed=closed,
                IsWon=won,
                SortOrder=order,
                DefaultProbability=probability,
            )
        routes = [
            *self.oauth.routes(
                authorize_path="/services/oauth2/authorize",
                token_path="/services/oauth2/token",  # noqa: S106 - a path
            ),
            Route(f"{API_PATH}/limits", self._api(self._limits), methods=["GET"]),
            Route(f"{API_PATH}/query", self._api(self._query), methods=["GET"]),
            Route(f"{API_PATH}/query/{{locator}}", self._api(self._more), methods=["GET"]),
            Route(f"{API_PATH}/composite", self._api(self._composite), methods=["POST"]),
            Route(
                f"{API_PATH}/sobjects/{{name}}/describe",
                self._api(self._describe),
                methods=["GET"],
            ),
            Route(
                f"{API_PATH}/sobjects/{{name}}/deleted/",
                self._api(self._deleted),
                methods=["GET"],
            ),
            Route(
                f"{API_PATH}/sobjects/{{name}}/{{record_id}}",
                self._api(self._record),
                methods=["GET", "PATCH", "DELETE"],
            ),
            Route(
                f"{API_PATH}/sobjects/{{name}}/{{field}}/{{value:path}}",
                self._api(self._upsert_route),
                methods=["PATCH"],
            ),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, render=render_error)

    # Controls: what a person in Salesforce (or its admin) would do

    def add(self, name: str, **fields: Any) -> str:
        record_id = salesforce_id(PREFIXES[name], next(self._ids))
        now = self._stamp()
        self.records[name][record_id] = {
            "Id": record_id,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
            "IsDeleted": False,
            **fields,
        }
        return record_id

    def edit(self, name: str, record_id: str, **fields: Any) -> None:
        record = self.records[name][record_id]
        record.update(fields)
        record["LastModifiedDate"] = record["SystemModstamp"] = self._stamp()

    def remove(self, name: str, record_id: str) -> None:
        """Delete to the recycle bin: gone from queries, listed in the delete log."""
        self.records[name].pop(record_id)
        self.deleted_log[name].append((record_id, self._stamp()))

    def expire_query_locators(self) -> None:
        self.locators.clear()

    def stage_names(self) -> list[str]:
        return [row["ApiName"] for row in self._sorted_stages()]

    # Plumbing

    def _stamp(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def _columns(self, name: str) -> tuple[str, ...]:
        if name == "OpportunityStage":
            extra: tuple[str, ...] = (
                "ApiName",
                "MasterLabel",
                "IsActive",
                "IsClosed",
                "IsWon",
                "SortOrder",
                "DefaultProbability",
            )
        elif name == "Organization":
            extra = ("Name", "DefaultCurrencyIsoCode")
        else:
            extra = WRITABLE[name]
            if self.external_id_field:
                extra += (self.external_id_field,)
            if name == "Opportunity" and self.multi_currency:
                extra += ("CurrencyIsoCode",)
        return COMMON + extra

    def _root(self, request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def _out(
        self, name: str, record: Mapping[str, Any], fields: tuple[str, ...], root: str
    ) -> Body:
        body: dict[str, Any] = {
            "attributes": {"type": name, "url": f"{root}{API_PATH}/sobjects/{name}/{record['Id']}"}
        }
        for column in fields:
            value = record.get(column)
            body[column] = format_time(value) if isinstance(value, datetime) else value
        return body

    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.calls.append((request.method, request.url.path))
            header = request.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else ""
            if not token or self.oauth.check(token) is None:
                status, body = error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            elif self.api_used >= self.api_allocation:
                status, body = error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            else:
                self.api_used += 1
                status, body = await handler(request)
            usage = {LIMIT_INFO_HEADER: f"api-usage={self.api_used}/{self.api_allocation}"}
            if status == 204:
                return Response(status_code=204, headers=usage)
            return JSONResponse(body, status_code=status, headers=usage)

        return endpoint

    # Endpoints

    async def _limits(self, request: Request) -> Outcome:
        return 200, {
            "DailyApiRequests": {
                "Max": self.api_allocation,
                "Remaining": self.api_allocation - self.api_used,
            }
        }

    async def _query(self, request: Request) -> Outcome:
        text = request.query_params.get("q")
        if not text:
            return error(400, "MALFORMED_QUERY", "A query string has to be specified")
        schema = {name: self._columns(name) for name in self.records}
        try:
            query = soql.parse(text, schema)
        except soql.SoqlError as exc:
            return error(400, exc.code, exc.message)
        rows = soql.run(query, list(self.records[query.sobject].values()))
        root = self._root(request)
        out = [self._out(query.sobject, row, query.fields, root) for row in rows]
        return 200, self._batch(out, request, locator=None, start=0)

    async def _more(self, request: Request) -> Outcome:
        locator, _, position = request.path_params["locator"].rpartition("-")
        rows = self.locators.get(locator)
        if rows is None or not position.isdigit():
            return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return 200, self._batch(rows, request, locator=locator, start=int(position))

    def _batch(
        self, rows: list[dict[str, Any]], request: Request, *, locator: str | None, start: int
    ) -> Body:
        options = dict(
            part.strip().partition("=")[::2]
            for part in request.headers.get("sforce-query-options", "").split(",")
            if part.strip()
        )
        size = MAX_BATCH
        if options.get("batchSize", "").isdigit():
            size = min(MAX_BATCH, max(MIN_BATCH, int(options["batchSize"])))
        end = start + size
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": end >= len(rows),
            "records": rows[start:end],
        }
        if end < len(rows):
            locator = locator or "01g" + secrets.token_hex(6).upper()
            self.locators[locator] = rows
            body["nextRecordsUrl"] = f"{self._root(request)}{API_PATH}/query/{locator}-{end}"
        return body

    async def _describe(self, request: Request) -> Outcome:
        name = request.path_params["name"]
        if name not in WRITABLE:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        fields = []
        for column in self._columns(name):
            entry: dict[str, Any] = {"name": column, "picklistValues": []}
            if name == "Opportunity" and column == "StageName":
                entry["type"] = "picklist"
                entry["picklistValues"] = [
                    {"active": True, "defaultValue": False, "label": stage, "value": stage}
                    for stage in self.stage_names()
                ]
            fields.append(entry)
        return 200, {"name": name, "fields": fields}

    async def _deleted(self, request: Request) -> Outcome:
        name = request.path_params["name"]
        if name not in WRITABLE:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            start = _minute(request.query_params["start"])
            end = _minute(request.query_params["end"])
        except (KeyError, ValueError):
            return error(400, "MALFORMED_QUERY", "start and end must be valid dateTimes")
        if end <= start or start < self._stamp() - timedelta(days=30):
            return error(
                400,
                "INVALID_REPLICATION_DATE",
                "startDate must be before endDate and within the last 30 days",
            )
        log = self.deleted_log[name]
        found = [
            {"id": record_id, "deletedDate": format_time(when)}
            for record_id, when in log
            if start <= when < end
        ]
        earliest = min((when for _, when in log), default=start)
        return 200, {
            "deletedRecords": found,
            "earliestDateAvailable": format_time(min(earliest, start)),
            "latestDateCovered": format_time(end),
        }

    async def _record(self, request: Request) -> Outcome:
        name, record_id = request.path_params["name"], request.path_params["record_id"]
        if request.method == "GET":
            fields = request.query_params.get("fields")
            return self.get(name, record_id, fields, self._root(request))
        if request.method == "DELETE":
            return self.delete(name, record_id)
        return self.update(name, record_id, await _json_body(request))

    async def _upsert_route(self, request: Request) -> Outcome:
        params = request.path_params
        return self.upsert(
            params["name"], params["field"], params["value"], await _json_body(request)
        )

    async def _composite(self, request: Request) -> Outcome:
        payload = await _json_body(request)
        if not isinstance(payload, Mapping) or not isinstance(
            payload.get("compositeRequest"), list
        ):
            return error(400, "JSON_PARSER_ERROR", "compositeRequest is required")
        parts = payload["compositeRequest"]
        if len(parts) > COMPOSITE_LIMIT:
            return error(400, "INVALID_FIELD", f"at most {COMPOSITE_LIMIT} subrequests")
        all_or_none = bool(payload.get("allOrNone"))
        saved = copy.deepcopy((self.records, self.deleted_log))
        results: dict[str, Body] = {}
        answers: list[dict[str, Any]] = []
        failed = False
        for part in parts:
            reference = str(part.get("referenceId", ""))
            if failed and all_or_none:
                status, body = 400, [HALTED]
            else:
                status, body = self._subrequest(part, results, self._root(request))
            if status < 400:
                results[reference] = body
            elif not failed:
                failed = True
            answers.append(
                {
                    "body": body,
                    "httpHeaders": {},
                    "httpStatusCode": status,
                    "referenceId": reference,
                }
            )
        if failed and all_or_none:
            self.records, self.deleted_log = saved
            for answer in answers:
                if answer["httpStatusCode"] < 400:
                    answer.update(body=[HALTED], httpStatusCode=400)
        return 200, {"compositeResponse": answers}

    def _subrequest(
        self, part: Mapping[str, Any], results: Mapping[str, Body], root: str
    ) -> Outcome:
        try:
            url = _substitute(str(part.get("url", "")), results)
            body = _substitute(part.get("body"), results)
        except KeyError as exc:
            return error(400, "PROCESSING_HALTED", f"Invalid reference specification: {exc}")
        parsed = urlsplit(url)
        if not parsed.path.startswith(API_PATH + "/sobjects/"):
            return error(400, "NOT_FOUND", f"unsupported subrequest url {url}")
        segments = [unquote(s) for s in parsed.path[len(API_PATH + "/sobjects/") :].split("/")]
        method = str(part.get("method", "")).upper()
        if method == "PATCH" and len(segments) == 3:
            return self.upsert(segments[0], segments[1], segments[2], body)
        if len(segments) != 2:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        name, record_id = segments
        if method == "GET":
            fields = dict(parse_qsl(parsed.query)).get("fields")
            return self.get(name, record_id, fields, root)
        if method == "PATCH":
            return self.update(name, record_id, body)
        if method == "DELETE":
            return self.delete(name, record_id)
        return error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed")

    # Operations shared by the REST routes and composite

    def get(self, name: str, record_id: str, fields: str | None, root: str) -> Outcome:
        if name not in WRITABLE:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        columns = self._columns(name)
        wanted = tuple(f.strip() for f in fields.split(",")) if fields else columns
        unknown = [f for f in wanted if f not in columns]
        if unknown:
            return error(
                400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {name}"
            )
        record = self.records[name].get(record_id)
        if record is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        return 200, self._out(name, record, wanted, root)

    def update(self, name: str, record_id: str, body: Body) -> Outcome:
        if name not in WRITABLE:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        record = self.records[name].get(record_id)
        if record is None:
            if any(gone == record_id for gone, _ in self.deleted_log[name]):
                return error(404, "ENTITY_IS_DELETED", "entity is deleted")
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        problem = self._check(name, body, creating=False)
        if problem is not None:
            return problem
        self.edit(name, record_id, **body)
        return 204, None

    def delete(self, name: str, record_id: str) -> Outcome:
        if name not in WRITABLE:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if record_id not in self.records[name]:
            if any(gone == record_id for gone, _ in self.deleted_log[name]):
                return error(404, "ENTITY_IS_DELETED", "entity is deleted")
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        self.remove(name, record_id)
        return 204, None

    def upsert(self, name: str, field_name: str, value: str, body: Body) -> Outcome:
        if name not in WRITABLE:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if field_name != self.external_id_field:
            return error(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        matches = [r for r in self.records[name].values() if r.get(field_name) == value]
        if len(matches) > 1:
            return 300, [f"{API_PATH}/sobjects/{name}/{r['Id']}" for r in matches]
        problem = self._check(name, body, creating=not matches)
        if problem is not None:
            return problem
        if matches:
            self.edit(name, matches[0]["Id"], **body)
            return 200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
        record_id = self.add(name, **{field_name: value, **body})
        return 201, {"id": record_id, "success": True, "errors": [], "created": True}

    def _check(self, name: str, body: Body, *, creating: bool) -> Outcome | None:
        if not isinstance(body, Mapping):
            return error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        writable = set(self._columns(name)) - set(COMMON)
        for column, value in body.items():
            if column not in writable:
                return error(
                    400, "INVALID_FIELD", f"No such column '{column}' on sobject of type {name}"
                )
            target = LOOKUPS.get(column)
            if target and value is not None and value not in self.records[target]:
                return error(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (column,)
                )
            if column == "StageName" and value not in self.stage_names():
                return error(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Stage: bad value for restricted picklist field: {value}",
                    (column,),
                )
            if column == "CurrencyIsoCode" and value not in CURRENCIES:
                return error(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Opportunity Currency: bad value for restricted picklist field: {value}",
                    (column,),
                )
        if creating:
            missing = [c for c in REQUIRED[name] if body.get(c) in (None, "")]
            if missing:
                return error(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    tuple(missing),
                )
        return None

    def _sorted_stages(self) -> list[dict[str, Any]]:
        rows = self.records["OpportunityStage"].values()
        return sorted((r for r in rows if r["IsActive"]), key=lambda r: int(r["SortOrder"]))


async def _json_body(request: Request) -> Body:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _substitute(value: Any, results: Mapping[str, Body]) -> Any:
    """`@{reference.field}` replaced with that field of an earlier subrequest's answer."""
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: str(results[m.group(1)][m.group(2)]), value)
    if isinstance(value, Mapping):
        return {key: _substitute(item, results) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, results) for item in value]
    return value


def _minute(value: str) -> datetime:
    """The delete log ignores the seconds of `start` and `end`."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a dateTime needs its offset")
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


CLIENT_ID = "sandbox-salesforce-client"
CLIENT_SECRET = "sandbox-salesforce-secret"  # noqa: S105 - the sandbox's own app


def create_sandbox(
    *,
    clock: Callable[[], datetime] = _now,
    faults: Faults | None = None,
    multi_currency: bool = True,
    external_id_field: str | None = DEFAULT_EXTERNAL_ID_FIELD,
    api_allocation: int = 15_000,
) -> SalesforceSandbox:
    oauth = SalesforceOAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        subject="005000000000001AAA",
        clock=lambda: clock().timestamp(),
    )
    return SalesforceSandbox(
        oauth=oauth,
        faults=faults or Faults(),
        clock=clock,
        multi_currency=multi_currency,
        external_id_field=external_id_field,
        api_allocation=api_allocation,
    )
