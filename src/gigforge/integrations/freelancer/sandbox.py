"""A local Freelancer.com for tests and demo mode.

It serves, on one app and at the real paths: the OAuth endpoints of the accounts host, and the
API calls the connector makes (`users/0.1/self`, the active-project search, one project,
listing, placing and accepting bids, and message threads, messages and sending one; see
`_sandbox_work` for the rule that awards bids), with the `Freelancer-OAuth-V1` check, the
success and error envelopes, offset paging, the projections the search asks for, and
`RateLimit-*` headers over a per-user window that answers 429 once spent. Error codes follow
those Freelancer returns (`RestExceptionCodes.NOT_AUTHENTICATED`,
`ProjectExceptionCodes.ALREADY_BID_ON_PROJECT`, ...); the HTTP status paired with each
business error is our choice, as the docs pair none.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, OAuthServer
from gigforge.integrations.freelancer._sandbox_work import WorkSandbox
from gigforge.integrations.freelancer._seed import SANDBOX_USER_ID, seed_projects, seed_users
from gigforge.integrations.freelancer.mapping import ALREADY_BID, NOT_AUTHENTICATED
from gigforge.integrations.freelancer.spec import (
    BIDDING_SCOPE,
    FREELANCER_HEADER,
    MESSAGING_SCOPE,
    SPEC,
)

BAD_FORM = "RestExceptionCodes.BAD_FORM"
FORBIDDEN = "RestExceptionCodes.FORBIDDEN"
NOT_FOUND = "ProjectExceptionCodes.PROJECT_NOT_FOUND"
BID_LIMIT = "ProjectExceptionCodes.BID_LIMIT_EXCEEDED"
TOO_MANY = "TOO_MANY_REQUESTS"
MAX_PAGE = 100
DEFAULT_PAGE = 10
# Freelancer names advanced scopes by number on the authorize URL.
ADVANCED_SCOPES = {"2": BIDDING_SCOPE, "5": MESSAGING_SCOPE}

Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def render_error(status: int, message: str, code: str | None = None) -> Response:
    """Freelancer's error envelope; the renderer the fault injector uses too."""
    fallback = TOO_MANY if status == 429 else "SANDBOX_FAULT"
    return JSONResponse(
        {
            "status": "error",
            "message": message,
            "error_code": code or fallback,
            "request_id": uuid.uuid4().hex,
        },
        status_code=status,
    )


def _success(result: Any) -> JSONResponse:
    return JSONResponse({"status": "success", "result": result, "request_id": uuid.uuid4().hex})


@dataclass
class _PlainGrant:
    redirect_uri: str
    scope: str
    expires: float


class FreelancerOAuth(OAuthServer):
    """The framework's authorization server, as Freelancer runs it: PKCE is checked when a
    client sends it but not required, since Freelancer's docs do not mention it, and
    `advanced_scopes` ids add their scope names to the grant."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plain_codes: dict[str, _PlainGrant] = {}

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        if params.get("code_challenge") or params.get("client_id") != self.client_id:
            return await super().authorize(request)
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri or params.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        scopes = params.get("scope", "").split()
        scopes += [
            ADVANCED_SCOPES[i]
            for i in params.get("advanced_scopes", "").split()
            if i in ADVANCED_SCOPES
        ]
        code = secrets.token_urlsafe(24)
        self.plain_codes[code] = _PlainGrant(redirect_uri, " ".join(scopes), self.clock() + 600)
        query = urlencode({"code": code, "state": params.get("state", "")})
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        code = str(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or code not in self.plain_codes:
            return await super().token(request)
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.plain_codes.pop(code)
        if grant.expires <= self.clock() or form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(self.issue(grant.scope))


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass
class FreelancerSandbox(WorkSandbox):
    """State a test can read and turn: the seeded data, the bids placed, the threads and
    messages, the calls served."""

    oauth: FreelancerOAuth
    faults: Faults
    clock: Callable[[], float]
    window_limit: int
    window_seconds: int
    users: dict[int, dict[str, Any]]
    projects: dict[int, dict[str, Any]]
    bids: dict[int, dict[str, Any]] = field(default_factory=dict)
    threads: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    bids_remaining: int = 6
    calls: list[tuple[str, str]] = field(default_factory=list)
    app: ASGIApp = field(init=False)
    _windows: dict[int, _Window] = field(default_factory=dict, init=False)
    _search_cache: tuple[tuple[Any, ...], list[dict[str, Any]]] | None = field(
        default=None, init=False
    )

    def __post_init__(self) -> None:
        oauth = SPEC.oauth
        if oauth is None:
            raise RuntimeError("the Freelancer spec declares its OAuth endpoints")
        api = urlsplit(SPEC.base_url).path
        routes = [
            *self.oauth.routes(
                authorize_path=urlsplit(oauth.authorize_url).path,
                token_path=urlsplit(oauth.token_url).path,
            ),
            Route(f"{api}/users/0.1/self/", self._api(self._self), methods=["GET"]),
            Route(
                f"{api}/projects/0.1/projects/active/",
                self._api(self._search),
                methods=["GET"],
            ),
            Route(
                f"{api}/projects/0.1/projects/{{project_id:int}}/",
                self._api(self._project),
                methods=["GET"],
            ),
            Route(f"{api}/projects/0.1/bids/", self._api(self._list_bids), methods=["GET"]),
            Route(f"{api}/projects/0.1/bids/", self._api(self._place_bid), methods=["POST"]),
            Route(
                f"{api}/projects/0.1/bids/{{bid_id:int}}/",
                self._api(self._bid_action),
                methods=["PUT"],
            ),
            Route(f"{api}/messages/0.1/threads/", self._api(self._threads), methods=["GET"]),
            Route(f"{api}/messages/0.1/messages/", self._api(self._messages), methods=["GET"]),
            Route(
                f"{api}/messages/0.1/threads/{{thread_id:int}}/messages/",
                self._api(self._post_message),
                methods=["POST"],
            ),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, render=render_error)

    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.calls.append((request.method, request.url.path))
            token = request.headers.get(FREELANCER_HEADER, "")
            record = self.oauth.check(token) if token else None
            if record is None:
                return render_error(
                    401, "You must be logged in to perform this request", NOT_AUTHENTICATED
                )
            user = self.users[int(record.subject)]
            remaining = self._spend(user["id"])
            if remaining < 0:
                response = render_error(429, "You have made too many of these requests", TOO_MANY)
            else:
                response = await handler(request, {**user, "scope": record.scope})
            response.headers["RateLimit-Limit"] = (
                f"{self.window_limit}, {self.window_limit};window={self.window_seconds}"
            )
            response.headers["RateLimit-Remaining"] = str(max(remaining, 0))
            return response

        return endpoint

    def _spend(self, user_id: int) -> int:
        now = self.clock()
        window = self._windows.get(user_id)
        if window is None or now - window.started >= self.window_seconds:
            window = self._windows[user_id] = _Window(started=now)
        window.used += 1
        return self.window_limit - window.used

    async def _self(self, request: Request, user: dict[str, Any]) -> Response:
        return _success({k: v for k, v in user.items() if k not in {"scope", "employer"}})

    async def _search(self, request: Request, user: dict[str, Any]) -> Response:
        params = request.query_params
        try:
            limit = min(int(params.get("limit", DEFAULT_PAGE)), MAX_PAGE)
            offset = int(params.get("offset", 0))
            from_time = int(params["from_time"]) if "from_time" in params else None
        except ValueError:
            return render_error(400, "Invalid limit, offset or from_time", BAD_FORM)
        terms = tuple(params.get("query", "").casefold().split())
        types = tuple(params.getlist("project_types[]"))
        found = self._matching(terms, types, from_time)
        page = found[offset : offset + limit]
        return _success(
            {
                "projects": [self._view(project, params) for project in page],
                "total_count": len(found),
                "users": self._owners(page, params) if _flag(params, "user_details") else None,
            }
        )

    def _matching(
        self, terms: tuple[str, ...], types: tuple[str, ...], from_time: int | None
    ) -> list[dict[str, Any]]:
        """Active projects for a search, newest first. Paging a large seed (the ingest
        benchmark serves 100,000) asks the same question once per page, so the answer is
        kept until the set of projects changes size."""
        key = (terms, types, from_time, len(self.projects))
        if self._search_cache is not None and self._search_cache[0] == key:
            return self._search_cache[1]
        found = [
            project
            for project in self.projects.values()
            if project["status"] == "active"
            and all(t in f"{project['title']} {project['description']}".casefold() for t in terms)
            and (not types or project["type"] in types)
            and (from_time is None or project["time_submitted"] >= from_time)
        ]
        found.sort(key=lambda project: project["time_updated"], reverse=True)
        self._search_cache = (key, found)
        return found

    async def _project(self, request: Request, user: dict[str, Any]) -> Response:
        project = self.projects.get(request.path_params["project_id"])
        if project is None:
            return render_error(404, "Project not found", NOT_FOUND)
        return _success(self._view(project, request.query_params))

    async def _list_bids(self, request: Request, user: dict[str, Any]) -> Response:
        params = request.query_params
        ids = {int(b) for b in params.getlist("bids[]") if b.isdigit()}
        projects = {int(p) for p in params.getlist("projects[]") if p.isdigit()}
        bidders = {int(b) for b in params.getlist("bidders[]") if b.isdigit()}
        statuses = set(params.getlist("award_statuses[]"))
        try:
            limit = min(int(params.get("limit", MAX_PAGE)), MAX_PAGE)
            offset = int(params.get("offset", 0))
        except ValueError:
            return render_error(400, "Invalid limit or offset", BAD_FORM)
        self.award_due_bids(bidders)
        bids = [
            bid
            for bid in self.bids.values()
            if (not ids or bid["id"] in ids)
            and (not projects or bid["project_id"] in projects)
            and (not bidders or bid["bidder_id"] in bidders)
            and (not statuses or bid["award_status"] in statuses)
        ]
        page = bids[offset : offset + limit]
        return _success({"bids": page, **self.bid_projections(page, params)})

    async def _bid_action(self, request: Request, user: dict[str, Any]) -> Response:
        action = request.query_params.get("action")
        if BIDDING_SCOPE not in user["scope"].split():
            return _needs(BIDDING_SCOPE)
        if action != "accept":
            return render_error(400, f"The sandbox does not serve bid action {action!r}", BAD_FORM)
        return self.accept(request.path_params["bid_id"], user, render_error, _success)

    async def _threads(self, request: Request, user: dict[str, Any]) -> Response:
        if MESSAGING_SCOPE not in user["scope"].split():
            return _needs(MESSAGING_SCOPE)
        return _success(self.list_threads(user, request.query_params))

    async def _messages(self, request: Request, user: dict[str, Any]) -> Response:
        if MESSAGING_SCOPE not in user["scope"].split():
            return _needs(MESSAGING_SCOPE)
        return _success(self.list_messages(user, request.query_params))

    async def _post_message(self, request: Request, user: dict[str, Any]) -> Response:
        if MESSAGING_SCOPE not in user["scope"].split():
            return _needs(MESSAGING_SCOPE)
        return await self.post_message(request, user, render_error, _success)

    async def _place_bid(self, request: Request, user: dict[str, Any]) -> Response:
        try:
            body = await request.json()
            project_id, bidder_id = int(body["project_id"]), int(body["bidder_id"])
            amount, period = float(body["amount"]), int(body["period"])
            milestone, description = int(body["milestone_percentage"]), str(body["description"])
        except (ValueError, KeyError, TypeError):
            return render_error(400, "Invalid bid: a required field is missing", BAD_FORM)
        if amount <= 0 or period <= 0 or not 0 <= milestone <= 100:
            return render_error(400, "Invalid bid: amount, period or milestone", BAD_FORM)
        if BIDDING_SCOPE not in user["scope"].split():
            return render_error(403, f"This request needs the {BIDDING_SCOPE} scope", FORBIDDEN)
        if bidder_id != user["id"]:
            return render_error(403, "You can only bid as yourself", FORBIDDEN)
        project = self.projects.get(project_id)
        if project is None or project["status"] != "active":
            return render_error(404, "Project not found", NOT_FOUND)
        if any(
            b["project_id"] == project_id and b["bidder_id"] == bidder_id and not b["retracted"]
            for b in self.bids.values()
        ):
            return render_error(409, "You have already bid on this project", ALREADY_BID)
        if self.bids_remaining <= 0:
            return render_error(400, "You have used all your bids for this month", BID_LIMIT)
        self.bids_remaining -= 1
        now = int(self.clock())
        bid = {
            "id": 500_000_000 + len(self.bids) + 1,
            "project_id": project_id,
            "bidder_id": bidder_id,
            "project_owner_id": project["owner_id"],
            "amount": amount,
            "period": period,
            "milestone_percentage": milestone,
            "description": description,
            "retracted": False,
            "award_status": None,
            "time_awarded": None,
            "time_accepted": None,
            "frontend_bid_status": "active",
            "submitdate": now,
            "time_submitted": now,
        }
        self.bids[bid["id"]] = bid
        return _success(bid)

    def _view(self, project: dict[str, Any], params: Any) -> dict[str, Any]:
        """A project with only the projections asked for, as the real search returns it."""
        count = sum(1 for b in self.bids.values() if b["project_id"] == project["id"])
        view = {**project, "bid_stats": {**project["bid_stats"]}}
        view["bid_stats"]["bid_count"] += count
        if not _flag(params, "full_description"):
            view.pop("description")
        if not _flag(params, "job_details"):
            view.pop("jobs")
        if _flag(params, "compact"):
            view = {k: v for k, v in view.items() if v is not None}
        return view

    def _owners(self, page: list[dict[str, Any]], params: Any) -> dict[str, Any]:
        owners: dict[str, Any] = {}
        for project in page:
            owner = self.users[project["owner_id"]]
            view = {"id": owner["id"], "username": owner["username"]}
            view["display_name"] = owner["display_name"]
            view["status"] = owner["status"]
            if _flag(params, "user_country_details"):
                view["location"] = owner["location"]
            if _flag(params, "user_employer_reputation") and "employer" in owner:
                view["employer_reputation"] = owner["employer"]
            owners[str(owner["id"])] = view
        return owners


def _needs(scope: str) -> Response:
    return render_error(403, f"This request needs the {scope} scope", FORBIDDEN)


def _flag(params: Any, name: str) -> bool:
    return str(params.get(name, "")).lower() in {"true", "1"}


def create_sandbox(
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",  # noqa: S107 - the sandbox's own fixture secret
    clock: Callable[[], float] = time.time,
    faults: Faults | None = None,
    window_limit: int = 50,
    window_seconds: int = 60,
) -> FreelancerSandbox:
    """A sandbox seeded with one freelancer (the token's user), three clients and seven
    active projects across currencies and budget kinds."""
    return FreelancerSandbox(
        oauth=FreelancerOAuth(
            client_id=client_id,
            client_secret=client_secret,
            subject=str(SANDBOX_USER_ID),
            clock=clock,
        ),
        faults=faults or Faults(),
        clock=clock,
        window_limit=window_limit,
        window_seconds=window_seconds,
        users=seed_users(),
        projects=seed_projects(),
    )
