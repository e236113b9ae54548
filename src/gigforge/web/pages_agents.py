"""The agents page: who can work now (and why not), how well each has done, and a form to give
one of them a task on a job.

Availability is the router's own answer (a connected model fit for the agent's kind of work)
and the agent's concurrency cap, as `GET /api/v1/agents/available` says it; assigning goes
through `AgentService.assign`, the API's path, so the task is audited and queued alike.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Form, status
from fastapi.routing import APIRouter
from starlette.responses import Response

from gigforge.ai.deps import RouterDep
from gigforge.connections.endpoints import ContextDep
from gigforge.jobs.assignment import agents as agent_service
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import WORKING
from gigforge.kit.errors import GigforgeError
from gigforge.kit.pagination import PageParams
from gigforge.web.pages_proposals import Page as AgentsPage
from gigforge.web.pages_proposals import PostingPage, ReadingPage
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

MAX_DESCRIPTION = 4_000
# The working jobs offered in the form; the API takes any of them by id.
MAX_JOBS = 100


@dataclass(frozen=True)
class Problem:
    """A refused assignment, shown in the agent's card with what was typed kept."""

    agent_id: str
    text: str
    job_id: str
    description: str
    kind: str


async def _agents_page(
    page: AgentsPage,
    context: ContextDep,
    router: RouterDep,
    *,
    problem: Problem | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    principal = page.viewer.principal
    standings = await agent_service.standings(
        page.session, principal, context=context, router=router
    )
    jobs, _ = await job_service.list(
        page.session, principal, statuses=tuple(WORKING), page=PageParams(limit=MAX_JOBS)
    )
    return render(
        page.request,
        "agents.html",
        {
            "viewer": page.viewer,
            "notices": await needs_attention(page.session, page.viewer, page.settings),
            "standings": standings,
            "jobs": jobs,
            "can_write": page.can_write,
            "description_limit": MAX_DESCRIPTION,
            "problem": problem,
            "unplaced": problem
            if problem and all(item.spec.slug != problem.agent_id for item in standings)
            else None,
        },
        status_code=status_code,
    )


@router.get("/agents")
async def agents_page(page: ReadingPage, context: ContextDep, router: RouterDep) -> Response:
    return await _agents_page(page, context, router)


@router.post("/agents/{agent_id}/assign")
async def assign(
    agent_id: str,
    page: PostingPage,
    context: ContextDep,
    router: RouterDep,
    job_id: Annotated[str, Form(max_length=40)] = "",
    description: Annotated[str, Form(max_length=MAX_DESCRIPTION * 2)] = "",
    kind: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A task for the agent on one of the user's working jobs; the job page follows it."""
    if not page.can_write:
        return error_page(
            page.request,
            status.HTTP_403_FORBIDDEN,
            "Not allowed",
            "Your role can read jobs but not give agents tasks.",
        )
    text = description.strip()
    target, refused = _checked(job_id, text)
    if target is None:
        return await _agents_page(
            page,
            context,
            router,
            problem=Problem(agent_id, refused, job_id, description, kind),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        await agent_service.assign(
            page.session,
            page.viewer.principal,
            job_id=target,
            agent_id=agent_id[:64],
            description=text,
            requirements={},
            kind=kind or None,
        )
    except GigforgeError as exc:
        return await _agents_page(
            page,
            context,
            router,
            problem=Problem(agent_id, exc.detail, job_id, description, kind),
            status_code=exc.status_code,
        )
    return redirect(page.request, f"/jobs/{target}")


def _checked(job_id: str, text: str) -> tuple[uuid.UUID | None, str]:
    """The chosen job, or None and why the form cannot be sent as it is."""
    try:
        target = uuid.UUID(job_id)
    except ValueError:
        return None, "Choose one of your jobs in progress for the task."
    if not text:
        return None, "Describe the task: the agent works from this description."
    if len(text) > MAX_DESCRIPTION:
        return None, (
            f"The description is {len(text):,} characters; keep it to {MAX_DESCRIPTION:,} or fewer."
        )
    return target, ""
