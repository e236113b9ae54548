"""A local Upwork for tests and demo mode: OAuth 2.0 and the GraphQL endpoint on one app.

It serves Upwork's own paths (`/ab/account-security/oauth2/authorize`, `/api/v3/oauth2/token`,
`/graphql`), so `SPEC.rebased(...)` reaches all of them. Like Upwork it refuses requests
without a valid bearer token, answers query failures with HTTP 200 and a GraphQL `errors`
array (`extensions.classification`, as https://support.upwork.com/hc/en-us/articles/115015857627
shows), says which fields a key lacks the scope for, pages with cursors inside the filter's
`pagination_eq`, and answers 429 "Too Many Requests" past its request budget. Upwork does not
document the body of its 401; the sandbox uses the same `errors` envelope there.

Offers (`offersByAttribute`) and message rooms (`roomList`, `room { stories }`) are served too,
from `_sandbox_work`, read-only as Upwork grants them to this connection.

The query is read, not just matched: the sandbox checks the operation is a query, knows the
root fields and every field of its slice of Upwork's schema, and answers with exactly the
fields asked for, so a connector that asks for a field Upwork does not have fails here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, OAuthServer
from gigforge.integrations.upwork import _graphql as gql
from gigforge.integrations.upwork import _sandbox_work as work
from gigforge.integrations.upwork._fixtures import seed_postings
from gigforge.integrations.upwork.spec import AUTHORIZE_URL, GRAPHQL_PATH, TOKEN_URL

READ_COMMON = "Common Entities - Read-Only Access"
READ_JOBS = "Read marketplace Job Postings"

# The sandbox's slice of Upwork's schema: each type's fields, with the object type an object
# field returns (None for scalars and lists of scalars).
SCHEMA: dict[str, dict[str, str | None]] = {
    "Query": {
        "user": "User",
        "organization": "Organization",
        "marketplaceJobPostingsSearch": "MarketplaceJobPostingSearchConnection",
    },
    "User": dict.fromkeys(("id", "nid", "rid", "name", "email")),
    "Organization": dict.fromkeys(("id", "rid", "name")),
    "MarketplaceJobPostingSearchConnection": {
        "totalCount": None,
        "edges": "MarketplaceJobPostingSearchEdge",
        "pageInfo": "PageInfo",
    },
    "MarketplaceJobPostingSearchEdge": {
        "cursor": None,
        "node": "MarketplaceJobPostingSearchResult",
    },
    "PageInfo": dict.fromkeys(("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")),
    "MarketplaceJobPostingSearchResult": {
        **dict.fromkeys(
            (
                "id",
                "ciphertext",
                "title",
                "description",
                "createdDateTime",
                "publishedDateTime",
                "renewedDateTime",
                "category",
                "subcategory",
                "experienceLevel",
                "duration",
                "durationLabel",
                "engagement",
                "totalApplicants",
                "preferredFreelancerLocation",
                "applied",
            )
        ),
        "skills": "MarketplaceJobPostingSearchSkill",
        "amount": "Money",
        "hourlyBudgetMin": "Money",
        "hourlyBudgetMax": "Money",
        "client": "MarketplaceJobPostingSearchClientInfo",
    },
    "MarketplaceJobPostingSearchSkill": dict.fromkeys(("name", "prettyName")),
    "Money": dict.fromkeys(("rawValue", "currency", "displayValue")),
    "MarketplaceJobPostingSearchClientInfo": {
        **dict.fromkeys(
            (
                "totalHires",
                "totalPostedJobs",
                "totalReviews",
                "totalFeedback",
                "verificationStatus",
                "hasFinancialPrivacy",
            )
        ),
        "totalSpent": "Money",
        "location": "ClientLocation",
    },
    "ClientLocation": dict.fromkeys(("country", "city")),
    **work.SCHEMA,
}
SCHEMA["Query"].update(work.ROOTS)
ROOT_SCOPES = {
    "user": READ_COMMON,
    "organization": READ_COMMON,
    "marketplaceJobPostingsSearch": READ_JOBS,
    **work.ROOT_SCOPES,
}
SEARCH_ARGUMENTS = {
    "marketPlaceJobFilter": "MarketplaceJobPostingsSearchFilter",
    "searchType": "MarketplaceJobPostingSearchType",
    "sortAttributes": "[MarketplaceJobPostingSearchSortAttribute]",
}
FILTER_FIELDS = frozenset(
    {
        "searchExpression_eq",
        "skillExpression_eq",
        "titleExpression_eq",
        "daysPosted_eq",
        "pagination_eq",
    }
)
SEARCH_TYPES = frozenset({"USER_JOBS_SEARCH", "JOBS_FEED"})
SORT_FIELDS = frozenset({"RECENCY", "RELEVANCE"})
DEFAULT_PAGE_SIZE = 10


class _Failure(Exception):
    """A GraphQL error the sandbox answers with HTTP 200, as Upwork does."""

    def __init__(self, message: str, classification: str, path: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.classification = classification
        self.path = path


def error_response(
    status: int, message: str, classification: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"classification": classification}}]},
        status_code=status,
        headers=headers,
    )


def _render_fault(status: int, message: str) -> Response:
    if status == 429:
        return error_response(429, "Too Many Requests", "TooManyRequests")
    return error_response(status, message, "InternalServerError")


class UpworkSandbox:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        postings: list[dict[str, Any]] | None = None,
        max_page_size: int = 5,
        requests_per_minute: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.oauth = OAuthServer(
            client_id=client_id, client_secret=client_secret, access_ttl=86400, clock=clock
        )
        self.faults = Faults()
        self.postings = postings if postings is not None else seed_postings(clock())
        self.user = {
            "id": "1614356989843714048",
            "nid": "samsandbox",
            "rid": "8837212",
            "name": "Sam Sandbox",
            "email": "sam.sandbox@example.com",
        }
        self.organization = {"id": "1614356989852102657", "rid": "4471032", "name": "Sam Sandbox"}
        self.permissions = {READ_COMMON, READ_JOBS, work.READ_OFFERS, work.READ_MESSAGES}
        job_ids = [f"178{number:016d}" for number in range(1, 5)]
        self.offers = work.seed_offers(self.organization["id"], job_ids)
        self.rooms = work.seed_rooms(clock(), self.user, job_ids)
        self.max_page_size = max_page_size
        self.requests_per_minute = requests_per_minute
        self.calls: list[dict[str, Any]] = []
        self._recent: dict[str, list[float]] = {}
        routes = [
            *self.oauth.routes(
                authorize_path=urlsplit(AUTHORIZE_URL).path, token_path=urlsplit(TOKEN_URL).path
            ),
            Route(GRAPHQL_PATH, self.graphql, methods=["POST"]),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, _render_fault)

    def set_offer_state(self, offer_id: str, state: str) -> None:
        """The client (or the user, on upwork.com) moves an offer along."""
        next(offer for offer in self.offers if offer["id"] == offer_id)["state"] = state

    def client_says(self, room_id: str, text: str) -> None:
        room = next(room for room in self.rooms if room["id"] == room_id)
        number = sum(len(r["_stories"]) for r in self.rooms) + 1
        client = {"id": "1700000000000000001", "nid": "clientone", "rid": "1", "name": "Client 1"}
        moment = datetime.fromtimestamp(self.clock(), UTC)
        room["_stories"].append(
            {
                "id": f"story-{number}",
                "message": text,
                "createdDateTime": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "user": client,
            }
        )

    def issue_tokens(self) -> dict[str, object]:
        """Tokens as Upwork's token endpoint issues them, for tests that skip the consent."""
        return self.oauth.issue()

    async def graphql(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not token or self.oauth.check(token) is None:
            return error_response(
                401,
                "Authentication failed: the access token is missing, invalid or expired",
                "Unauthorized",
            )
        throttled = self._throttle(token)
        if throttled is not None:
            return throttled
        try:
            body = await request.json()
            document, variables = str(body["query"]), dict(body.get("variables") or {})
        except (ValueError, KeyError, TypeError):
            return error_response(400, "The body is not a GraphQL request", "InvalidSyntax")
        self.calls.append({"headers": dict(request.headers), "body": body})
        try:
            operation = gql.parse(document)
        except gql.GraphQLSyntaxError as exc:
            return error_response(200, f"Invalid Syntax : {exc}", "InvalidSyntax")
        try:
            data = self._execute(operation, variables)
        except _Failure as failure:
            error: dict[str, Any] = {
                "message": failure.message,
                "extensions": {"classification": failure.classification},
            }
            if failure.path:
                error["path"] = failure.path
            return JSONResponse({"errors": [error], "data": None})
        return JSONResponse({"data": data})

    def _throttle(self, token: str) -> Response | None:
        """Upwork counts requests per IP and lifts a block a minute after the last refused
        request; the sandbox counts per token, which is the same thing in one test."""
        if self.requests_per_minute is None:
            return None
        now = self.clock()
        recent = [at for at in self._recent.get(token, []) if at > now - 60]
        recent.append(now)
        self._recent[token] = recent
        if len(recent) > self.requests_per_minute:
            return error_response(
                429, "Too Many Requests", "TooManyRequests", headers={"Retry-After": "60"}
            )
        return None

    def _execute(self, operation: gql.Operation, variables: dict[str, Any]) -> dict[str, Any]:
        if operation.kind != "query":
            raise _Failure(
                f"Validation error (UnknownOperation) : The sandbox serves queries, not "
                f"{operation.kind} operations",
                "ValidationError",
            )
        _validate(operation.selections, "Query", [])
        data: dict[str, Any] = {}
        for root in operation.selections:
            scope = ROOT_SCOPES[root.name]
            if scope not in self.permissions:
                raise _Failure(
                    "The client or authentication token doesn't have enough oauth2 "
                    f"permissions/scopes to access: [Query.{root.name}].",
                    "ExecutionAborted",
                    [root.key],
                )
            arguments = gql.resolve(root.arguments, variables)
            if root.name == "marketplaceJobPostingsSearch":
                _check_variable_types(operation, root)
                value: Any = self._search(arguments, root.key)
            elif root.name in work.ROOTS:
                value = self._work(root, arguments, variables)
            else:
                value = self.user if root.name == "user" else self.organization
            data[root.key] = _project(value, root.selections, SCHEMA["Query"][root.name])
        return data

    def _work(
        self, root: gql.Selection, arguments: dict[str, Any], variables: dict[str, Any]
    ) -> Any:
        try:
            if root.name == "offersByAttribute":
                return work.offers_by_attribute(self.offers, arguments)
            if root.name == "roomList":
                return work.room_list(self.rooms, arguments)
            stories = next((s for s in root.selections if s.name == "stories"), None)
            story_arguments = gql.resolve(stories.arguments, variables) if stories else {}
            found = work.room(self.rooms, arguments.get("id"), story_arguments)
        except work.WorkError as exc:
            raise _Failure(
                f"Validation error (WrongType@[{root.key}]) : {exc}", "ValidationError"
            ) from None
        if found is None:
            raise _Failure(
                f"Room {arguments.get('id')} was not found", "DataFetchingException", [root.key]
            )
        return found

    def _search(self, arguments: dict[str, Any], path: str) -> dict[str, Any]:
        job_filter = arguments.get("marketPlaceJobFilter") or {}
        unknown = sorted(set(job_filter) - FILTER_FIELDS)
        if unknown:
            raise _Failure(
                f"Validation error (WrongType@[{path}]) : argument 'marketPlaceJobFilter' "
                f"contains a field not in 'MarketplaceJobPostingsSearchFilter': '{unknown[0]}'",
                "ValidationError",
            )
        search_type = arguments.get("searchType")
        sorts = arguments.get("sortAttributes") or []
        bad_sort = [sort for sort in sorts if (sort or {}).get("field") not in SORT_FIELDS]
        if (search_type is not None and search_type not in SEARCH_TYPES) or bad_sort:
            raise _Failure(
                f"Validation error (WrongType@[{path}]) : argument 'searchType' or "
                "'sortAttributes' has an invalid enum value",
                "ValidationError",
            )
        now = self.clock()
        matches = [node for node in self._newest_first() if _matches(node, job_filter, now)]
        pagination = job_filter.get("pagination_eq") or {}
        first = min(int(pagination.get("first") or DEFAULT_PAGE_SIZE), self.max_page_size)
        start = _offset(pagination.get("after"), path)
        page = matches[start : start + first]
        edges = [
            {"cursor": str(start + index + 1), "node": node} for index, node in enumerate(page)
        ]
        return {
            "totalCount": len(matches),
            "edges": edges,
            "pageInfo": {
                "hasNextPage": start + len(page) < len(matches),
                "hasPreviousPage": start > 0,
                "startCursor": edges[0]["cursor"] if edges else None,
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
        }

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.postings, key=lambda node: node["publishedDateTime"], reverse=True)


def _matches(node: dict[str, Any], job_filter: dict[str, Any], now: float) -> bool:
    skills = " ".join(str(skill.get("prettyName")) for skill in node.get("skills") or ())
    text = f"{node['title']} {node.get('description') or ''} {skills}"
    checks = (
        ("searchExpression_eq", text),
        ("skillExpression_eq", skills),
        ("titleExpression_eq", node["title"]),
    )
    for key, haystack in checks:
        expression = job_filter.get(key)
        if expression and not _expression_matches(str(expression), haystack):
            return False
    days = job_filter.get("daysPosted_eq")
    published = datetime.fromisoformat(node["publishedDateTime"]).timestamp()
    return not days or published >= now - int(days) * 86400


def _expression_matches(expression: str, haystack: str) -> bool:
    """A small share of Upwork's Lucene-style expressions: `a b` needs both, `a OR b` either."""
    lowered = haystack.lower()
    return any(
        all(word.lower() in lowered for word in alternative.split())
        for alternative in expression.split(" OR ")
    )


def _offset(after: Any, path: str) -> int:
    if after in (None, ""):
        return 0
    if not str(after).isdigit():
        raise _Failure(f"Invalid pagination cursor: {after}", "DataFetchingException", [path])
    return int(str(after))


def _validate(selections: list[gql.Selection], type_name: str, path: list[str]) -> None:
    fields = SCHEMA[type_name]
    for selection in selections:
        where = "/".join([*path, selection.name])
        if selection.name not in fields:
            raise _Failure(
                f"Validation error (FieldUndefined@[{where}]) : Field '{selection.name}' in "
                f"type '{type_name}' is undefined",
                "ValidationError",
            )
        child = fields[selection.name]
        if child is not None and not selection.selections:
            raise _Failure(
                f"Validation error (SubSelectionRequired@[{where}]) : Sub selection required "
                f"for type '{child}' of field '{selection.name}'",
                "ValidationError",
            )
        if child is None and selection.selections:
            raise _Failure(
                f"Validation error (SubSelectionNotAllowed@[{where}]) : Sub selection not "
                f"allowed on leaf type of field '{selection.name}'",
                "ValidationError",
            )
        if child is not None:
            _validate(selection.selections, child, [*path, selection.name])


def _check_variable_types(operation: gql.Operation, root: gql.Selection) -> None:
    for argument, value in root.arguments.items():
        expected = SEARCH_ARGUMENTS.get(argument)
        if expected is None:
            raise _Failure(
                f"Validation error (UnknownArgument@[{root.name}]) : Unknown field argument "
                f"'{argument}'",
                "ValidationError",
            )
        if isinstance(value, gql.Variable):
            declared = operation.variable_types.get(value.name, "").rstrip("!")
            if declared != expected:
                raise _Failure(
                    f"Validation error (VariableTypeMismatch@[{root.name}]) : Variable type "
                    f"'{declared}' does not match expected type '{expected}'",
                    "ValidationError",
                )


def _project(value: Any, selections: list[gql.Selection], type_name: str | None) -> Any:
    """Exactly the fields asked for, under their aliases, as a GraphQL server answers."""
    if value is None or type_name is None:
        return value
    if isinstance(value, list):
        return [_project(item, selections, type_name) for item in value]
    fields = SCHEMA[type_name]
    return {
        selection.key: _project(
            value.get(selection.name), selection.selections, fields[selection.name]
        )
        for selection in selections
    }


def create_sandbox(
    *,
    client_id: str = "sandbox-client-id",
    client_secret: str = "sandbox-client-secret",  # noqa: S107 - the sandbox's own app
    postings: list[dict[str, Any]] | None = None,
    max_page_size: int = 5,
    requests_per_minute: int | None = None,
    clock: Callable[[], float] = time.time,
) -> UpworkSandbox:
    """A sandbox with eight seeded postings; pages hold at most `max_page_size` of them, so
    the seed spans two pages by default."""
    return UpworkSandbox(
        client_id=client_id,
        client_secret=client_secret,
        postings=postings,
        max_page_size=max_page_size,
        requests_per_minute=requests_per_minute,
        clock=clock,
    )
