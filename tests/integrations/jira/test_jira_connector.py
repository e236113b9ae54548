"""The connector's contract, driven against the Jira sandbox through the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jira_support import (
    SANDBOX_URL,
    Clock,
    ConnectorFactory,
    basic_credentials,
    token_config,
    wrong_token_config,
)

from gigforge.integrations.framework import (
    AuthExpired,
    NotSupported,
    Permanent,
    ProjectTool,
    RateLimited,
)
from gigforge.integrations.framework.records import ChangeAction, RecordKind
from gigforge.integrations.jira import SPEC, JiraConfig, JiraConnector
from gigforge.integrations.jira.sandbox import (
    ACCOUNT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_CLOUD_ID,
    SANDBOX_SITE,
    JiraSandbox,
    WebhookDelivery,
)
from sandbox_support import RecordedSleep, SandboxTokens


class SmallPages(JiraConnector):
    page_size = 2


async def make_epic(jira: JiraConnector, key: str = "epic-ref-0001") -> str:
    epic = await jira.upsert(
        RecordKind.project,
        {"name": "Booking backend", "description": "FastAPI job for ACME"},
        external_id=None,
        container="GIG",
        idempotency_key=key,
    )
    return epic.id


async def make_task(jira: JiraConnector, epic: str, title: str, key: str) -> str:
    task = await jira.upsert(
        RecordKind.task,
        {"title": title, "project": epic},
        external_id=None,
        idempotency_key=key,
    )
    return task.id


def test_the_connector_is_a_project_tool() -> None:
    assert issubclass(JiraConnector, ProjectTool)
    assert SPEC.slug == "jira"


async def test_test_call_names_the_account_and_its_time_zone(jira: JiraConnector) -> None:
    assert await jira.test() == {
        "account_id": ACCOUNT_ID,
        "display_name": "Gigforge Dev",
        "time_zone": "Europe/Berlin",
        "site": SANDBOX_URL,
    }


async def test_api_token_requests_carry_basic_auth_on_the_site(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    await jira.containers()

    assert sandbox.calls == [("GET", "/rest/api/3/project/search")]


async def test_containers_follow_the_project_pages(
    sandbox: JiraSandbox, make_connector: ConnectorFactory
) -> None:
    config = token_config()
    jira = make_connector(config, basic_credentials(config), connector_class=SmallPages)

    containers = await jira.containers()

    assert [(c.id, c.name) for c in containers] == [
        ("GIG", "Gigforge work"),
        ("OPS", "Operations"),
        ("WEB", "Website"),
    ]
    assert len(sandbox.calls) == 2


async def test_a_project_is_an_epic_with_its_description_in_adf(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await jira.upsert(
        RecordKind.project,
        {"name": "Booking backend", "description": "First line\nsecond line\n\nNext paragraph"},
        external_id=None,
        container="GIG",
        idempotency_key="epic-ref-0001",
    )

    stored = sandbox.issues[epic.id]
    assert (epic.id, stored.issue_type, stored.project) == ("GIG-1", "Epic", "GIG")
    assert stored.description["type"] == "doc"
    assert [block["type"] for block in stored.description["content"]] == ["paragraph"] * 2
    assert stored.properties == {"gigforge": {"ref": "epic-ref-0001"}}
    assert epic.fields == {
        "name": "Booking backend",
        "description": "First line\nsecond line\n\nNext paragraph",
    }
    assert epic.url == f"{SANDBOX_URL}/browse/GIG-1"


async def test_a_task_is_an_issue_whose_parent_is_the_epic(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await make_epic(jira)

    task = await jira.upsert(
        RecordKind.task,
        {
            "title": "Write the API",
            "description": "Endpoints",
            "due": "2026-02-01",
            "project": epic,
        },
        external_id=None,
        idempotency_key="task-ref-0001",
    )

    assert sandbox.issues[task.id].parent == epic
    assert task.fields == {
        "title": "Write the API",
        "description": "Endpoints",
        "status": "10000",
        "due": "2026-02-01",
        "project": epic,
    }


async def test_a_create_retried_with_the_same_key_finds_the_first_issue(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await make_epic(jira)
    first = await make_task(jira, epic, "Write the API", "task-ref-0001")

    again = await make_task(jira, epic, "Write the API", "task-ref-0001")

    assert again == first
    assert len(sandbox.issues) == 2
    assert ("POST", "/rest/api/3/issue") in sandbox.calls
    assert sandbox.calls.count(("POST", "/rest/api/3/issue")) == 2  # the epic and one task


async def test_a_task_created_with_a_status_is_transitioned_there(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await make_epic(jira)

    task = await jira.upsert(
        RecordKind.task,
        {"title": "Ship it", "project": epic, "status": "3"},
        external_id=None,
        idempotency_key="task-ref-0002",
    )

    assert task.fields["status"] == "3"
    assert ("POST", f"/rest/api/3/issue/{task.id}/transitions") in sandbox.calls


async def test_update_changes_fields_and_moves_the_status_through_a_transition(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await make_epic(jira)
    task = await make_task(jira, epic, "Write the API", "task-ref-0001")

    updated = await jira.upsert(
        RecordKind.task,
        {"title": "Write the REST API", "status": "10001", "due": "2026-03-01"},
        external_id=task,
        idempotency_key="task-update-0001",
    )

    assert updated.fields["title"] == "Write the REST API"
    assert updated.fields["status"] == "10001"
    assert updated.fields["due"] == "2026-03-01"
    assert sandbox.issues[task].status == "10001"


async def test_a_status_the_workflow_cannot_reach_is_a_clear_error(jira: JiraConnector) -> None:
    epic = await make_epic(jira)
    task = await make_task(jira, epic, "Write the API", "task-ref-0001")

    with pytest.raises(Permanent, match=r"no transition .* to 999"):
        await jira.upsert(
            RecordKind.task, {"status": "999"}, external_id=task, idempotency_key="task-u-0002"
        )


async def test_statuses_come_from_the_epics_project_with_done_marked(jira: JiraConnector) -> None:
    epic = await make_epic(jira)

    statuses = await jira.statuses(epic)

    assert [(s.id, s.name, s.done) for s in statuses] == [
        ("10000", "To Do", False),
        ("3", "In Progress", False),
        ("10001", "Done", True),
    ]


async def test_get_reads_a_task_and_returns_none_once_it_is_gone(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await make_epic(jira)
    task = await make_task(jira, epic, "Write the API", "task-ref-0001")

    record = await jira.get(RecordKind.task, task)
    await jira.delete(RecordKind.task, task)

    assert record is not None
    assert record.fields["title"] == "Write the API"
    assert await jira.get(RecordKind.task, task) is None
    assert task not in sandbox.issues
    await jira.delete(RecordKind.task, task)  # deleting what is gone is done


async def test_changes_pages_the_epics_tasks_oldest_change_first(
    sandbox: JiraSandbox, make_connector: ConnectorFactory, clock: Clock
) -> None:
    config = token_config()
    jira = make_connector(config, basic_credentials(config), connector_class=SmallPages)
    epic = await make_epic(jira)
    names = ["first", "second", "third"]
    for index, name in enumerate(names):
        clock.advance(120)
        await make_task(jira, epic, name, f"task-ref-000{index}")
    await make_task_elsewhere(jira)

    first = await jira.changes(epic, since=None)
    second = await jira.changes(epic, since=None, cursor=first.cursor)

    assert [r.fields["title"] for r in first.records] == ["first", "second"]
    assert first.has_more
    assert first.cursor
    assert [r.fields["title"] for r in second.records] == ["third"]
    assert not second.has_more
    assert second.cursor is None


async def make_task_elsewhere(jira: JiraConnector) -> None:
    other = await make_epic(jira, "epic-ref-0002")
    await make_task(jira, other, "not ours", "task-ref-other")


async def test_changes_since_asks_in_the_users_time_zone_and_cuts_exactly(
    jira: JiraConnector, clock: Clock
) -> None:
    epic = await make_epic(jira)
    clock.advance(60)
    await make_task(jira, epic, "before", "task-ref-0001")
    clock.advance(20)
    since = datetime.fromtimestamp(clock.now + 5, UTC)
    clock.advance(10)
    await make_task(jira, epic, "after", "task-ref-0002")

    page = await jira.changes(epic, since=since)

    assert [r.fields["title"] for r in page.records] == ["after"]


async def test_jira_error_messages_reach_the_caller(jira: JiraConnector) -> None:
    with pytest.raises(
        Permanent, match="Issue does not exist or you do not have permission"
    ) as caught:
        await jira.upsert(
            RecordKind.task,
            {"title": "Orphan", "project": "GIG-99"},
            external_id=None,
            idempotency_key="task-ref-0009",
        )

    assert caught.value.upstream_status == 404  # reading the missing epic's project


async def test_a_refused_create_carries_the_field_errors(jira: JiraConnector) -> None:
    with pytest.raises(Permanent, match="project: valid project is required"):
        await jira.upsert(
            RecordKind.project,
            {"name": "Nowhere"},
            external_id=None,
            container="NOPE",
            idempotency_key="epic-ref-0009",
        )


async def test_a_wrong_api_token_is_auth_expired(make_connector: ConnectorFactory) -> None:
    config = wrong_token_config()
    jira = make_connector(config, basic_credentials(config))

    with pytest.raises(AuthExpired, match="Client must be authenticated"):
        await jira.test()


async def test_a_429_is_retried_after_the_retry_after_wait(
    jira: JiraConnector, sandbox: JiraSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 3

    containers = await jira.containers()

    assert len(containers) == 3
    assert sleep.delays == [3.0, 3.0]


async def test_a_429_asking_for_too_long_a_wait_is_rate_limited(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 600

    with pytest.raises(RateLimited) as caught:
        await jira.containers()

    assert caught.value.retry_after == 600


async def test_an_api_token_connection_without_its_site_says_so(
    make_connector: ConnectorFactory,
) -> None:
    config = token_config()
    jira = make_connector(config, basic_credentials(config), base_url=SPEC.base_url)

    with pytest.raises(Permanent, match="needs its site URL"):
        await jira.containers()


async def test_the_configured_site_url_is_used_for_api_token_calls(
    make_connector: ConnectorFactory, sandbox: JiraSandbox
) -> None:
    config = token_config(base_url="http://site.sandbox")
    jira = make_connector(config, basic_credentials(config), base_url=SPEC.base_url)

    details = await jira.test()

    assert details["site"] == "http://site.sandbox"
    assert sandbox.calls == [("GET", "/rest/api/3/myself")]


# OAuth 2.0 (3LO)


async def test_oauth_calls_go_through_the_gateway_with_the_cloud_id(
    oauth_jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    details = await oauth_jira.test()

    assert details["site"] == SANDBOX_SITE
    assert sandbox.calls.count(("GET", "/oauth/token/accessible-resources")) == 1
    assert ("GET", f"/ex/jira/{SANDBOX_CLOUD_ID}/rest/api/3/myself") in sandbox.calls


async def test_oauth_with_a_cloud_id_the_token_cannot_reach_is_refused(
    tokens: SandboxTokens, make_connector: ConnectorFactory
) -> None:
    from gigforge.integrations.framework import OAuth2Credentials

    jira = make_connector(JiraConfig(cloud_id="another-site"), OAuth2Credentials(tokens))

    with pytest.raises(Permanent, match="No site with this cloud id"):
        await jira.containers()


async def test_an_expired_oauth_token_is_refreshed_once(
    oauth_jira: JiraConnector, sandbox: JiraSandbox, tokens: SandboxTokens
) -> None:
    sandbox.oauth.expire_access_tokens()

    containers = await oauth_jira.containers()

    assert len(containers) == 3
    assert tokens.refreshes == 1


async def test_webhooks_are_for_oauth_connections(jira: JiraConnector) -> None:
    epic = await make_epic(jira)

    with pytest.raises(NotSupported, match="only OAuth apps"):
        await jira.subscribe(epic, callback_url="https://gigforge.test/hooks/jira")


async def test_a_subscription_delivers_signed_changes_the_connector_reads(
    oauth_jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    received: list[WebhookDelivery] = []

    async def target(delivery: WebhookDelivery) -> None:
        received.append(delivery)

    sandbox.webhook_target = target
    epic = await make_epic(oauth_jira)
    task = await make_task(oauth_jira, epic, "Write the API", "task-ref-0001")
    subscription = await oauth_jira.subscribe(epic, callback_url="https://gigforge.test/hooks")
    assert sandbox.webhooks[int(subscription.id)].project == "GIG"

    await sandbox.edit_as_person(task, summary="Write the whole API", status="3")
    await sandbox.delete_as_person(task)

    receipts = [
        oauth_jira.parse_webhook(d.headers, d.body, url=d.url, secret=SANDBOX_CLIENT_SECRET)
        for d in received
    ]
    changes = [receipt.changes[0] for receipt in receipts]
    assert [(c.id, c.action) for c in changes] == [
        (task, ChangeAction.updated),
        (task, ChangeAction.deleted),
    ]
    assert changes[0].fields["title"] == "Write the whole API"
    assert changes[0].fields["status"] == "3"
    assert changes[0].parent_id == epic
    assert changes[0].event_id == received[0].headers["X-Atlassian-Webhook-Identifier"]

    await oauth_jira.unsubscribe(subscription.id)
    assert int(subscription.id) not in sandbox.webhooks


async def test_a_delivery_with_another_secret_is_refused(
    oauth_jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await make_epic(oauth_jira)
    await oauth_jira.subscribe(epic, callback_url="https://gigforge.test/hooks")
    await sandbox.edit_as_person(epic, summary="Renamed")
    delivery = sandbox.outbox[-1]

    with pytest.raises(Permanent, match="not signed with the app's client secret"):
        oauth_jira.parse_webhook(
            delivery.headers,
            delivery.body,
            url=delivery.url,
            secret="someone-elses-client-secret-0123456789abcdef",
        )
