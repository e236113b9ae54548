"""A local HubSpot for tests and demo mode.

On one app and at HubSpot's paths it serves the OAuth authorize and token endpoints (HubSpot's
code grant: no PKCE, refresh tokens that do not rotate, access tokens for 30 minutes), account
details, the CRM v3 objects (create, read, update, archive, search), v4 default associations
and the deal pipelines. It checks `Authorization: Bearer` against the private app token and the
OAuth tokens (with their scopes), answers in HubSpot's error envelope
(`status`, `message`, `correlationId`, `category`), sends `X-HubSpot-RateLimit-*` headers over
a 10-second window and answers 429 once it is spent (search has its own per-second limit and
no headers, as on HubSpot).

Every change becomes webhook events as HubSpot sends them (an array of events, signed with
signature v3 using the app's client secret), kept in `outbox`; when `webhook_target` is set it
is awaited with each delivery. The test controls (`add`, `edit`, `archive`) change records as a
person in HubSpot would, with `changeSource` `CRM_UI`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, OAuthServer
from gigforge.integrations.hubspot._sandbox_store import (
    MODIFIED,
    PLURAL,
    READ_ONLY,
    SINGULAR,
    Record,
    Store,
    StoreError,
)
from gigforge.integrations.hubspot.spec import SCOPES, SPEC
from gigforge.integrations.hubspot.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

PRIVATE_APP_TOKEN = "pat-na1-00000000-sandbox-private-app"  # noqa: S105 - the sandbox's own
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - the sandbox's own fixture secret
PORTAL_ID = 24_681_357
APP_ID = 3_141_592
ACTIONS = ("creation", "propertyChange", "deletion")
WEBHOOK_URL = "https://gigforge.example/api/v1/integrations/hubspot/webhooks"

# The app's subscriptions: one per object type and event type.
SUBSCRIPTION_IDS = {
    (object_type, action): 4_000_001 + index
    for index, (object_type, action) in enumerate(
        (t, a) for t in ("contacts", "companies", "deals") for a in ACTIONS
    )
}

Handler = Callable[[Request, str], Awaitable[Response]]


def render_error(
    status: int, message: str, category: str | None = None, **extra: Any
) -> JSONResponse:
    """HubSpot's error envelope; also what the fault injector renders."""
    fallback = "RATE_LIMITS" if status == 429 else "SANDBOX_FAULT"
    return JSONResponse(
        {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category or fallback,
            **extra,
        },
        status_code=status,
    )


@dataclass(frozen=True)
class WebhookDelivery:
    """One signed POST as HubSpot would send it to the app's target URL."""

    url: str
    headers: dict[str, str]
    body: bytes

    def events(self) -> list[Record]:
        events: list[Record] = json.loads(self.body)
        return events


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass
class HubSpotSandbox:
    oauth: OAuthServer
    faults: Faults
    clock: Callable[[], float]
    private_app_token: str = PRIVATE_APP_TOKEN
    private_app_scopes: tuple[str, ...] = SCOPES
    webhook_url: str = WEBHOOK_URL
    company_currency: str = "USD"
    window_limit: int = 100
    window_seconds: int = 10
    search_per_second: int = 5
    store: Store = field(init=False)
    outbox: list[WebhookDelivery] = field(default_factory=list)
    webhook_target: Callable[[WebhookDelivery], Awaitable[None]] | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    app: ASGIApp = field(init=False)
    _undelivered: list[WebhookDelivery] = field(default_factory=list, init=False)
    _windows: dict[str, _Window] = field(default_factory=dict, init=False)
    _event_id: int = field(default=1_000, init=False)

    def __post_init__(self) -> None:
        self.store = Store(clock=self.clock)
        oauth = SPEC.oauth
        if oauth is None:
            raise RuntimeError("the HubSpot spec declares its OAuth endpoints")
        objects = "/crm/v3/objects/{object_type}"
        routes = [
            *self.oauth.routes(
                authorize_path=urlsplit(oauth.authorize_url).path,
                token_path=urlsplit(oauth.token_url).path,
            ),
            Route("/account-info/v3/details", self._api(self._account), methods=["GET"]),
            Route(f"{objects}/search", self._api(self._search, search=True), methods=["POST"]),
            Route(objects, self._api(self._create), methods=["POST"]),
            Route(f"{objects}/{{record_id}}", self._api(self._read), methods=["GET"]),
            Route(f"{objects}/{{record_id}}", self._api(self._update), methods=["PATCH"]),
            Route(f"{objects}/{{record_id}}", self._api(self._archive), methods=["DELETE"]),
            Route(
                "/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}",
                self._api(self._associate),
                methods=["PUT"],
            ),
            Route("/crm/v3/pipelines/{object_type}", self._api(self._pipelines), methods=["GET"]),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, render=render_error)

    # Test controls: what a person in HubSpot does, with the webhooks HubSpot sends.

    async def add(self, kind: str, **properties: Any) -> str:
        """Create a record (`kind` is `contact`, `company` or `deal`) as a person would."""
        record = self.store.create(PLURAL[kind], properties)
        self._emit(PLURAL[kind], record, "creation", source="CRM_UI")
        await self.flush_webhooks()
        return str(record["id"])

    async def edit(self, kind: str, record_id: str, **properties: Any) -> Record:
        before = dict(self.store.live(PLURAL[kind], record_id)["properties"])
        record = self.store.update(PLURAL[kind], record_id, properties)
        self._emit_changes(PLURAL[kind], record, before, source="CRM_UI")
        await self.flush_webhooks()
        return record

    async def archive(self, kind: str, record_id: str) -> None:
        record = self.store.archive(PLURAL[kind], record_id)
        if record is None:
            raise KeyError(f"no live {kind} {record_id}")
        self._emit(PLURAL[kind], record, "deletion", source="CRM_UI")
        await self.flush_webhooks()

    def record(self, kind: str, record_id: str) -> Record:
        return self.store.objects[PLURAL[kind]][record_id]

    def records(self, kind: str) -> list[Record]:
        return [r for r in self.store.objects[PLURAL[kind]].values() if not r["archived"]]

    async def flush_webhooks(self) -> None:
        """Hand each delivery not yet handed over to `webhook_target`, in order."""
        while self._undelivered:
            delivery = self._undelivered.pop(0)
            if self.webhook_target is not None:
                await self.webhook_target(delivery)

    # The API surface

    def _api(
        self, handler: Handler, *, search: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.calls.append((request.method, request.url.path))
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            scopes = self._scopes(token) if scheme.lower() == "bearer" and token else None
            if scopes is None:
                return render_error(
                    401,
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION",
                )
            missing = _missing_scope(request, scopes)
            if missing is not None:
                return render_error(
                    403,
                    "This app hasn't been granted all required scopes to make this call. "
                    "Read more about required scopes here: https://developers.hubspot.com/scopes.",
                    "MISSING_SCOPES",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [missing]},
                        }
                    ],
                )
            if search:
                return await self._limited_search(request, handler)
            remaining = self._spend("app", self.window_limit, self.window_seconds)
            if remaining < 0:
                response: Response = render_error(
                    429,
                    "You have reached your ten_secondly_rolling limit.",
                    "RATE_LIMITS",
                    errorType="RATE_LIMIT",
                    policyName="TEN_SECONDLY_ROLLING",
                )
            else:
                response = await self._answer(request, handler)
            response.headers["X-HubSpot-RateLimit-Max"] = str(self.window_limit)
            response.headers["X-HubSpot-RateLimit-Remaining"] = str(max(remaining, 0))
            response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(
                self.window_seconds * 1000
            )
            return response

        return endpoint

    async def _limited_search(self, request: Request, handler: Handler) -> Response:
        if self._spend("search", self.search_per_second, 1) < 0:
            return render_error(
                429,
                "You have reached your secondly limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="SECONDLY",
            )
        return await self._answer(request, handler)

    async def _answer(self, request: Request, handler: Handler) -> Response:
        try:
            response = await handler(request, request.path_params.get("object_type", ""))
        except StoreError as exc:
            context = {"context": exc.context} if exc.context else {}
            response = render_error(exc.status, exc.message, exc.category, **context)
        await self.flush_webhooks()
        return response

    def _scopes(self, token: str) -> tuple[str, ...] | None:
        if token == self.private_app_token:
            return self.private_app_scopes
        record = self.oauth.check(token)
        return tuple(record.scope.split()) if record is not None else None

    def _spend(self, key: str, limit: int, seconds: int) -> int:
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= seconds:
            window = self._windows[key] = _Window(started=now)
        window.used += 1
        return limit - window.used

    async def _account(self, request: Request, _: str) -> Response:
        return JSONResponse(
            {
                "portalId": PORTAL_ID,
                "accountType": "STANDARD",
                "timeZone": "Europe/Berlin",
                "companyCurrency": self.company_currency,
                "additionalCurrencies": ["EUR", "GBP"],
                "utcOffset": "+01:00",
                "utcOffsetMilliseconds": 3_600_000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )

    async def _create(self, request: Request, object_type: str) -> Response:
        properties = _writable((await _json(request)).get("properties"))
        record = self.store.create(object_type, properties)
        self._emit(object_type, record, "creation", source="INTEGRATION")
        return JSONResponse(self.store.view(object_type, record, None, []), status_code=201)

    async def _read(self, request: Request, object_type: str) -> Response:
        record = self.store.live(object_type, request.path_params["record_id"])
        wanted = _listed(request.query_params.get("properties"))
        associations = _listed(request.query_params.get("associations")) or []
        return JSONResponse(self.store.view(object_type, record, wanted, associations))

    async def _update(self, request: Request, object_type: str) -> Response:
        record_id = request.path_params["record_id"]
        properties = _writable((await _json(request)).get("properties"))
        before = dict(self.store.live(object_type, record_id)["properties"])
        record = self.store.update(object_type, record_id, properties)
        self._emit_changes(object_type, record, before, source="INTEGRATION")
        return JSONResponse(self.store.view(object_type, record, None, []))

    async def _archive(self, request: Request, object_type: str) -> Response:
        # HubSpot answers 204 whether or not the record was still there.
        record = self.store.archive(object_type, request.path_params["record_id"])
        if record is not None:
            self._emit(object_type, record, "deletion", source="INTEGRATION")
        return Response(status_code=204)

    async def _search(self, request: Request, object_type: str) -> Response:
        return JSONResponse(self.store.search(object_type, await _json(request)))

    async def _associate(self, request: Request, _: str) -> Response:
        params = request.path_params
        answer = self.store.associate(
            _singular(params["from_type"]),
            params["from_id"],
            _singular(params["to_type"]),
            params["to_id"],
        )
        return JSONResponse(answer)

    async def _pipelines(self, request: Request, object_type: str) -> Response:
        if object_type != "deals":
            raise StoreError(404, "OBJECT_NOT_FOUND", f"No pipelines for {object_type}")
        return JSONResponse({"results": self.store.pipelines})

    # Webhooks

    def _emit_changes(
        self, object_type: str, record: Record, before: Mapping[str, Any], *, source: str
    ) -> None:
        after = record["properties"]
        changed = [
            name
            for name in sorted(set(before) | set(after))
            if name not in READ_ONLY and before.get(name) != after.get(name)
        ]
        events = [
            self._event(object_type, record, "propertyChange", source=source, name=name)
            for name in changed
        ]
        if events:
            self._deliver(events)

    def _emit(self, object_type: str, record: Record, action: str, *, source: str) -> None:
        self._deliver([self._event(object_type, record, action, source=source)])

    def _event(
        self,
        object_type: str,
        record: Record,
        action: str,
        *,
        source: str,
        name: str | None = None,
    ) -> Record:
        self._event_id += 1
        event: Record = {
            "eventId": self._event_id,
            "subscriptionId": SUBSCRIPTION_IDS[(object_type, action)],
            "portalId": PORTAL_ID,
            "appId": APP_ID,
            "occurredAt": self.store.now_ms(),
            "subscriptionType": f"{SINGULAR[object_type]}.{action}",
            "attemptNumber": 0,
            "objectId": int(record["id"]),
            "changeSource": source,
        }
        if action == "creation":
            event["changeFlag"] = "NEW"
        elif action == "deletion":
            event["changeFlag"] = "DELETED"
        elif name is not None:
            event["propertyName"] = name
            event["propertyValue"] = record["properties"].get(name, "")
        return event

    def _deliver(self, events: list[Record]) -> None:
        body = json.dumps(events, separators=(",", ":")).encode()
        timestamp = str(int(self.clock() * 1000))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Webhooks",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(
                self.oauth.client_secret,
                method="POST",
                url=self.webhook_url,
                body=body,
                timestamp=timestamp,
            ),
        }
        delivery = WebhookDelivery(url=self.webhook_url, headers=headers, body=body)
        self.outbox.append(delivery)
        self._undelivered.append(delivery)


def _missing_scope(request: Request, scopes: tuple[str, ...]) -> str | None:
    """The granular scope the call needs and the token lacks, if any."""
    params = request.path_params
    object_type = params.get("object_type") or PLURAL.get(params.get("from_type", ""), "")
    if request.url.path.startswith("/crm/v3/pipelines"):
        object_type = "deals"
    if object_type not in MODIFIED:
        return None
    reading = request.method == "GET" or request.url.path.endswith("/search")
    needed = f"crm.objects.{object_type}.{'read' if reading else 'write'}"
    return None if needed in scopes else needed


def _singular(name: str) -> str:
    """Associations v4 paths take either form of an object type."""
    return SINGULAR.get(name, name)


def _listed(value: str | None) -> list[str] | None:
    return [part for part in value.split(",") if part] if value else None


def _writable(properties: Any) -> dict[str, Any]:
    if not isinstance(properties, Mapping):
        raise StoreError(400, "VALIDATION_ERROR", "properties must be an object")
    read_only = [name for name in properties if name in READ_ONLY]
    if read_only:
        raise StoreError(
            400, "VALIDATION_ERROR", f"Property {read_only[0]} is read-only and cannot be set"
        )
    return dict(properties)


async def _json(request: Request) -> Mapping[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise StoreError(400, "VALIDATION_ERROR", "Invalid input JSON on line 1") from None
    if not isinstance(body, Mapping):
        raise StoreError(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    return body


def create_sandbox(
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    clock: Callable[[], float] = time.time,
    faults: Faults | None = None,
    **options: Any,
) -> HubSpotSandbox:
    """An empty HubSpot account with the two seeded deal pipelines, a private app token
    (`PRIVATE_APP_TOKEN`) and an OAuth app (`client_id`, `client_secret`)."""
    return HubSpotSandbox(
        oauth=OAuthServer(
            client_id=client_id,
            client_secret=client_secret,
            subject=str(PORTAL_ID),
            access_ttl=1800,
            rotate_refresh_tokens=False,
            require_pkce=False,
            clock=clock,
        ),
        faults=faults or Faults(),
        clock=clock,
        **options,
    )
