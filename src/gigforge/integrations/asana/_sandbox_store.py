"""The sandbox's Asana domain in memory: workspaces, projects, sections, tasks, webhooks, and
the events each change produces, rendered as Asana renders them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gigforge.integrations.asana.spec import SITE_URL

Params = dict[str, Any]

SANDBOX_USER_GID = "1200000000000001"
PERSONAL_WORKSPACE_GID = "1200000000000002"
ORGANIZATION_GID = "1200000000000003"
TEAM_GID = "1200000000000004"
SEED_PROJECT_GID = "1200000000000005"


class Refusal(Exception):
    """What an Asana endpoint answers with an error: the status and Asana's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Store:
    clock: Callable[[], float]
    workspaces: dict[str, Params] = field(default_factory=dict)
    teams: dict[str, Params] = field(default_factory=dict)
    projects: dict[str, Params] = field(default_factory=dict)
    sections: dict[str, Params] = field(default_factory=dict)
    tasks: dict[str, Params] = field(default_factory=dict)
    webhooks: dict[str, Params] = field(default_factory=dict)
    # Events waiting to be signed and delivered, per webhook gid.
    pending_events: list[tuple[str, Params]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1_200_000_000_000_100))

    def new_gid(self) -> str:
        return str(next(self._ids))

    def now(self) -> str:
        moment = datetime.fromtimestamp(self.clock(), UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    # Representations, as the API returns them with every field asked for

    def user(self) -> Params:
        return {
            "gid": SANDBOX_USER_GID,
            "resource_type": "user",
            "name": "Sandbox Freelancer",
            "email": "freelancer@example.com",
            "workspaces": [self.compact(w) for w in self.workspaces.values()],
        }

    @staticmethod
    def compact(record: Params) -> Params:
        return {
            "gid": record["gid"],
            "resource_type": record["resource_type"],
            "name": record["name"],
        }

    def project_view(self, project: Params) -> Params:
        team = self.teams.get(project.get("team") or "")
        return {
            "gid": project["gid"],
            "resource_type": "project",
            "name": project["name"],
            "notes": project["notes"],
            "archived": project["archived"],
            "created_at": project["created_at"],
            "modified_at": project["modified_at"],
            "permalink_url": f"{SITE_URL}/0/{project['gid']}/{project['gid']}",
            "workspace": self.compact(self.workspaces[project["workspace"]]),
            "team": self.compact(team) if team else None,
        }

    def task_view(self, task: Params) -> Params:
        memberships = []
        for project_gid, section_gid in task["memberships"]:
            membership: Params = {"project": self.compact(self.projects[project_gid])}
            section = self.sections.get(section_gid or "")
            membership["section"] = self.compact(section) if section else None
            memberships.append(membership)
        view: Params = {
            "gid": task["gid"],
            "resource_type": "task",
            "resource_subtype": "default_task",
            "name": task["name"],
            "notes": task["notes"],
            "completed": task["completed"],
            "completed_at": task["completed_at"],
            "due_on": task["due_on"],
            "created_at": task["created_at"],
            "modified_at": task["modified_at"],
            "permalink_url": f"{SITE_URL}/0/0/{task['gid']}",
            "memberships": memberships,
            "projects": [self.compact(self.projects[p]) for p, _ in task["memberships"]],
            "workspace": self.compact(self.workspaces[task["workspace"]]),
        }
        if task["external"] is not None:
            view["external"] = dict(task["external"])
        return view

    # Changes (each one records the events Asana would send)

    def add_project(self, *, name: str, notes: str, workspace: str, team: str | None) -> Params:
        now = self.now()
        project: Params = {
            "gid": self.new_gid(),
            "resource_type": "project",
            "name": name,
            "notes": notes,
            "archived": False,
            "workspace": workspace,
            "team": team,
            "created_at": now,
            "modified_at": now,
        }
        self.projects[project["gid"]] = project
        return project

    def add_section(self, project_gid: str, name: str) -> Params:
        section = {
            "gid": self.new_gid(),
            "resource_type": "section",
            "name": name,
            "project": project_gid,
            "created_at": self.now(),
        }
        self.sections[section["gid"]] = section
        self._event("added", section, parent=self.projects[project_gid], project=project_gid)
        return section

    def project_sections(self, project_gid: str) -> list[Params]:
        return [s for s in self.sections.values() if s["project"] == project_gid]

    def add_task(
        self,
        *,
        name: str,
        notes: str,
        project_gid: str,
        section_gid: str | None,
        due_on: str | None = None,
        completed: bool = False,
        external: Params | None = None,
    ) -> Params:
        if section_gid is None:
            first = next(iter(self.project_sections(project_gid)), None)
            section_gid = first["gid"] if first else None
        now = self.now()
        task = {
            "gid": self.new_gid(),
            "resource_type": "task",
            "name": name,
            "notes": notes,
            "completed": completed,
            "completed_at": now if completed else None,
            "due_on": due_on,
            "created_at": now,
            "modified_at": now,
            "memberships": [(project_gid, section_gid)],
            "workspace": self.projects[project_gid]["workspace"],
            "external": external,
        }
        self.tasks[task["gid"]] = task
        self._event("added", task, parent=self.projects[project_gid], project=project_gid)
        if section_gid is not None:
            self._event("added", task, parent=self.sections[section_gid], project=project_gid)
        return task

    def change_task(self, task: Params, changes: Params) -> None:
        for name, value in changes.items():
            if task[name] == value:
                continue
            task[name] = value
            if name == "completed":
                task["completed_at"] = self.now() if value else None
            self._task_event("changed", task, change={"field": name, "action": "changed"})
        task["modified_at"] = self.now()

    def move_task(self, task: Params, section: Params) -> None:
        project_gid = section["project"]
        memberships = []
        for project, old_section in task["memberships"]:
            if project == project_gid:
                if old_section == section["gid"]:
                    return
                if old_section in self.sections:
                    self._event("removed", task, parent=self.sections[old_section], project=project)
                memberships.append((project, section["gid"]))
            else:
                memberships.append((project, old_section))
        if not any(project == project_gid for project, _ in task["memberships"]):
            memberships.append((project_gid, section["gid"]))
            self._event("added", task, parent=self.projects[project_gid], project=project_gid)
        task["memberships"] = memberships
        task["modified_at"] = self.now()
        self._event("added", task, parent=section, project=project_gid)

    def remove_task(self, task: Params) -> None:
        self._task_event("deleted", task)
        del self.tasks[task["gid"]]

    def remove_project(self, project: Params) -> None:
        self._event("deleted", project, parent=None, project=project["gid"])
        for task in [t for t in self.tasks.values() if t["memberships"][0][0] == project["gid"]]:
            del self.tasks[task["gid"]]
        for gid in [g for g, s in self.sections.items() if s["project"] == project["gid"]]:
            del self.sections[gid]
        del self.projects[project["gid"]]

    def touch_project(self, project: Params, changes: Params) -> None:
        for name, value in changes.items():
            if project[name] != value:
                project[name] = value
                self._event(
                    "changed",
                    project,
                    parent=None,
                    project=project["gid"],
                    change={"field": name, "action": "changed"},
                )
        project["modified_at"] = self.now()

    def find_external(self, workspace: str, external_gid: str) -> Params | None:
        return next(
            (
                t
                for t in self.tasks.values()
                if t["workspace"] == workspace
                and t["external"] is not None
                and t["external"].get("gid") == external_gid
            ),
            None,
        )

    def _task_event(self, action: str, task: Params, change: Params | None = None) -> None:
        for project, _ in task["memberships"]:
            self._event(action, task, parent=None, project=project, change=change)

    def _event(
        self,
        action: str,
        resource: Params,
        *,
        parent: Params | None,
        project: str,
        change: Params | None = None,
    ) -> None:
        event: Params = {
            "user": {"gid": SANDBOX_USER_GID, "resource_type": "user"},
            "created_at": self.now(),
            "action": action,
            "resource": {
                "gid": resource["gid"],
                "resource_type": resource["resource_type"],
                **(
                    {"resource_subtype": "default_task"}
                    if resource["resource_type"] == "task"
                    else {}
                ),
            },
            "parent": (
                {"gid": parent["gid"], "resource_type": parent["resource_type"]}
                if parent is not None
                else None
            ),
        }
        if change is not None:
            event["change"] = change
        for webhook in self.webhooks.values():
            if webhook["resource"] == project:
                self.pending_events.append((webhook["gid"], event))


def seed(store: Store) -> None:
    """A personal workspace with one project and three sections, and an organization (whose
    projects need a team) with one team."""
    store.workspaces[PERSONAL_WORKSPACE_GID] = {
        "gid": PERSONAL_WORKSPACE_GID,
        "resource_type": "workspace",
        "name": "Personal Projects",
        "is_organization": False,
    }
    store.workspaces[ORGANIZATION_GID] = {
        "gid": ORGANIZATION_GID,
        "resource_type": "workspace",
        "name": "Example Studio",
        "is_organization": True,
    }
    store.teams[TEAM_GID] = {
        "gid": TEAM_GID,
        "resource_type": "team",
        "name": "Client work",
        "organization": ORGANIZATION_GID,
    }
    project = store.add_project(
        name="Website redesign", notes="", workspace=PERSONAL_WORKSPACE_GID, team=None
    )
    store.projects[SEED_PROJECT_GID] = {
        **store.projects.pop(project["gid"]),
        "gid": SEED_PROJECT_GID,
    }
    for name in ("To do", "In progress", "Review"):
        store.add_section(SEED_PROJECT_GID, name)
