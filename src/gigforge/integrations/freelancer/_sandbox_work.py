"""The sandbox's side of what follows a bid: awards, accepting one, and message threads.

The award rule is deterministic so tests and the demo can rely on it: when the user's bids
are listed, every bid not yet answered whose amount is at or below its project's budget
maximum (the minimum when the project states no maximum) becomes `awarded`, stamped with
the sandbox clock, and the project's client opens a thread with one message. Bids above
that stay unanswered. `revoke` and `client_says` let a test play the client afterwards.

Accepting (`PUT .../bids/{id}/?action=accept`) stamps `time_accepted` and moves the bid to
`in_progress`; accepting an accepted bid answers with it again, and a bid whose award is not
`awarded` is refused with `ProjectExceptionCodes.BID_NOT_AWARDED` (a sandbox code: Freelancer
documents none for this case). Messages post as a form (`message`) or as multipart with
`attachments[]` names and `files[]` parts, and are stored and listed oldest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

BID_NOT_AWARDED = "ProjectExceptionCodes.BID_NOT_AWARDED"
THREAD_NOT_FOUND = "MessagesExceptionCodes.THREAD_NOT_FOUND"
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
FIRST_THREAD_ID = 880_000_001
FIRST_MESSAGE_ID = 990_000_001

Render = Callable[[int, str, str | None], Response]
Succeed = Callable[[Any], JSONResponse]


class WorkSandbox:
    """Mixed into `FreelancerSandbox`, whose dataclass fields these are."""

    clock: Callable[[], float]
    users: dict[int, dict[str, Any]]
    projects: dict[int, dict[str, Any]]
    bids: dict[int, dict[str, Any]]
    threads: dict[int, dict[str, Any]]
    messages: dict[int, dict[str, Any]]

    def revoke(self, bid_id: int) -> None:
        """The client takes the award back, as Freelancer lets an employer do."""
        self.bids[bid_id]["award_status"] = "revoked"

    def client_says(self, thread_id: int, text: str) -> dict[str, Any]:
        thread = self.threads[thread_id]
        return _without_content(self._store_message(thread_id, thread["thread"]["owner"], text, []))

    def award_due_bids(self, bidder_ids: set[int]) -> None:
        for bid in self.bids.values():
            if bid["award_status"] is not None or bid["retracted"]:
                continue
            if bidder_ids and bid["bidder_id"] not in bidder_ids:
                continue
            budget = self.projects[bid["project_id"]]["budget"]
            ceiling = budget.get("maximum", budget.get("minimum"))
            if ceiling is None or bid["amount"] > ceiling:
                continue
            bid["award_status"] = "awarded"
            bid["time_awarded"] = int(self.clock())
            self._open_thread(bid)

    def bid_projections(self, bids: list[dict[str, Any]], params: Any) -> dict[str, Any]:
        projects = {bid["project_id"]: self.projects[bid["project_id"]] for bid in bids}
        owners = {project["owner_id"] for project in projects.values()}
        return {
            "projects": {str(pid): project for pid, project in projects.items()}
            if _flag(params, "project_details")
            else None,
            "users": {str(uid): _public(self.users[uid]) for uid in owners}
            if _flag(params, "user_details")
            else None,
        }

    def accept(self, bid_id: int, user: dict[str, Any], render: Render, ok: Succeed) -> Response:
        bid = self.bids.get(bid_id)
        if bid is None or bid["bidder_id"] != user["id"]:
            return render(404, "Bid not found", "ProjectExceptionCodes.BID_NOT_FOUND")
        if bid["award_status"] != "awarded":
            status = bid["award_status"] or "not awarded"
            return render(409, f"This bid cannot be accepted: it is {status}", BID_NOT_AWARDED)
        if bid.get("time_accepted") is None:
            bid["time_accepted"] = int(self.clock())
            bid["frontend_bid_status"] = "in_progress"
        return ok(bid)

    def list_threads(self, user: dict[str, Any], params: Any) -> dict[str, Any]:
        contexts = {int(c) for c in params.getlist("contexts[]") if c.isdigit()}
        context_type = params.get("context_type")
        found = [
            thread
            for thread in self.threads.values()
            if user["id"] in thread["thread"]["members"]
            and (not context_type or thread["thread"]["context"]["type"] == context_type)
            and (not contexts or thread["thread"]["context"]["id"] in contexts)
        ]
        found.sort(key=lambda thread: thread["time_updated"], reverse=True)
        page = _page(found, params)
        members = {m for thread in page for m in thread["thread"]["members"]}
        return {
            "threads": page,
            "total_count": len(found),
            "users": {str(m): _public(self.users[m]) for m in members}
            if _flag(params, "user_details")
            else None,
        }

    def list_messages(self, user: dict[str, Any], params: Any) -> dict[str, Any]:
        wanted = {int(t) for t in params.getlist("threads[]") if t.isdigit()}
        updated = int(params.get("from_updated_time", 0))
        visible = {
            tid for tid, thread in self.threads.items() if user["id"] in thread["thread"]["members"]
        }
        found = [
            message
            for message in self.messages.values()
            if message["thread_id"] in visible
            and (not wanted or message["thread_id"] in wanted)
            and message["time_created"] >= updated
        ]
        found.sort(key=lambda message: (message["time_created"], message["id"]))
        return {"messages": _page(found, params), "total_count": len(found)}

    async def post_message(
        self, request: Request, user: dict[str, Any], render: Render, ok: Succeed
    ) -> Response:
        thread = self.threads.get(request.path_params["thread_id"])
        if thread is None or user["id"] not in thread["thread"]["members"]:
            return render(404, "Thread not found", THREAD_NOT_FOUND)
        form = await request.form()
        text = str(form.get("message") or "")
        names = [str(name) for name in form.getlist("attachments[]")]
        files = [part for part in form.getlist("files[]") if isinstance(part, UploadFile)]
        if len(names) != len(files):
            return render(400, "Each file needs its name in attachments[]", "BAD_FORM")
        attachments: list[dict[str, Any]] = []
        for name, upload in zip(names, files, strict=True):
            content = await upload.read()
            if len(content) > MAX_ATTACHMENT_BYTES:
                return render(413, f"{name} is larger than the sandbox accepts", "BAD_FORM")
            attachments.append(
                {
                    "filename": name,
                    "content_type": upload.content_type,
                    "size": len(content),
                    "content": content,
                }
            )
        if not text and not attachments:
            return render(400, "A message needs text or a file", "BAD_FORM")
        stored = self._store_message(thread["id"], user["id"], text, attachments)
        return ok(_without_content(stored))

    def _open_thread(self, bid: dict[str, Any]) -> None:
        project = self.projects[bid["project_id"]]
        if any(t["thread"]["context"]["id"] == project["id"] for t in self.threads.values()):
            return
        thread_id = FIRST_THREAD_ID + len(self.threads)
        now = int(self.clock())
        self.threads[thread_id] = {
            "id": thread_id,
            "thread": {
                "id": thread_id,
                "context": {"type": "project", "id": project["id"]},
                "members": [bid["bidder_id"], project["owner_id"]],
                "owner": project["owner_id"],
                "thread_type": "private_chat",
                "time_created": now,
            },
            "time_updated": now,
            "message_count": 0,
            "is_read": False,
        }
        owner = self.users[project["owner_id"]]
        self._store_message(
            thread_id,
            project["owner_id"],
            f'Hi! I have awarded you "{project["title"]}". Please accept it and tell me when '
            f"you can start. - {owner['display_name']}",
            [],
        )

    def _store_message(
        self, thread_id: int, sender: int, text: str, attachments: list[dict[str, Any]]
    ) -> dict[str, Any]:
        message_id = FIRST_MESSAGE_ID + len(self.messages)
        now = int(self.clock())
        message = {
            "id": message_id,
            "thread_id": thread_id,
            "from_user": sender,
            "message": text,
            "time_created": now,
            "message_source": "default_msg",
            "attachments": [
                {**_without_content(a), "message_id": message_id, "thread_id": thread_id}
                for a in attachments
            ],
            # The uploaded bytes, for tests to compare; never part of an answer.
            "_contents": [a["content"] for a in attachments],
        }
        self.messages[message_id] = message
        thread = self.threads[thread_id]
        thread["time_updated"] = now
        thread["message_count"] += 1
        return message


def _without_content(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"content", "_contents"}}


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in ("id", "username", "display_name") if k in user}


def _page(items: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    limit = min(int(params.get("limit", 10)), 100)
    offset = int(params.get("offset", 0))
    return [_without_content(item) for item in items[offset : offset + limit]]


def _flag(params: Any, name: str) -> bool:
    return str(params.get(name, "")).lower() in {"true", "1"}
