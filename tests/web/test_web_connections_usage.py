"""Connections actions, the usage page, Scan now and Undo of a dismissal, over HTTP."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from factories import Account, connect_openai, register
from gigforge.ai.models import AIUsage
from gigforge.connections.context import IntegrationContext
from gigforge.integrations.framework import Registry, UnavailableIntegration
from gigforge.integrations.onnx_local.spec import SPEC as ONNX_SPEC
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.opportunities.models import SourceSchedule
from gigforge.opportunities.repository import SourceScheduleRepository
from gigforge.opportunities.scanning import Scanner
from gigforge.web.pages_usage import dollars, percent
from web_support import csrf_of, sign_in

ROW = re.compile(r'id="opportunity-([0-9a-f-]{36})"')
COUNT = re.compile(r'id="opportunity-count"[^>]*>([\d,]+) opportunit')


async def _no_wait(delay: float) -> None:
    return None


async def _signed_in(web: httpx.AsyncClient) -> tuple[Account, str]:
    account = await register(web)
    await sign_in(web, account)
    return account, csrf_of((await web.get("/connections")).text)


async def _connections(web: httpx.AsyncClient, account: Account) -> list[dict[str, object]]:
    listed = await web.get("/api/v1/connections", headers=account.headers)
    items: list[dict[str, object]] = listed.json()["items"]
    return items


async def _connect_feed(
    app: FastAPI, web: httpx.AsyncClient, account: Account, slug: str, *, scan: bool = True
) -> uuid.UUID:
    """A job feed of the sandboxes (no credentials), scanned once unless told otherwise."""
    created = await web.post(
        "/api/v1/connections", json={"integration": slug}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    connection_id = uuid.UUID(created.json()["id"])
    if scan:
        report = await Scanner(app.state.integrations).scan(connection_id)
        assert report.found > 0
    return connection_id


def _htmx(token: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token}


async def test_connections_show_the_integration_name_and_a_test_updates_last_checked(
    web: httpx.AsyncClient,
) -> None:
    account, token = await _signed_in(web)
    await connect_openai(web, account)
    (connection,) = await _connections(web, account)
    page = await web.get("/connections")
    assert '<span class="connection-integration">OpenAI</span>' in page.text
    assert f'action="/connections/{connection["id"]}/test"' in page.text

    tested = await web.post(f"/connections/{connection['id']}/test", headers=_htmx(token))

    assert tested.status_code == 200
    assert tested.text.lstrip().startswith("<li")
    assert "<html" not in tested.text
    assert "OpenAI accepted the connection." in tested.text
    (after,) = await _connections(web, account)
    assert after["last_checked_at"] is not None
    assert str(after["last_checked_at"])[:16].replace("T", " ") in tested.text


async def test_a_failed_test_is_one_plain_sentence_without_the_providers_body(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account, token = await _signed_in(web)
    await connect_openai(web, account)
    (connection,) = await _connections(web, account)
    faults = sandbox_app.state.sandboxes["openai"].faults
    faults.error_status, faults.error_rate = 403, 1.0

    tested = await web.post(f"/connections/{connection['id']}/test", headers=_htmx(token))

    assert tested.status_code == 200
    assert "OpenAI refused the check (HTTP 403). Check the settings or reconnect." in tested.text
    assert "sandbox fault" not in tested.text
    assert "/v1/models" not in tested.text
    (after,) = await _connections(web, account)
    assert after["last_checked_at"] is not None
    assert after["last_error"]
    page = await web.get("/connections")
    assert "sandbox fault" not in page.text
    assert "that check failed; test again to see why" in page.text


async def test_rename_checks_the_name_and_refuses_a_taken_one(web: httpx.AsyncClient) -> None:
    account, token = await _signed_in(web)
    await connect_openai(web, account)
    (connection,) = await _connections(web, account)
    path = f"/connections/{connection['id']}/rename"
    long_name = "A connection name that goes on " * 4

    renamed = await web.post(path, data={"csrf_token": token, "name": "  work account "})
    empty = await web.post(path, data={"csrf_token": token, "name": "   "})
    too_long = await web.post(path, data={"csrf_token": token, "name": long_name})

    assert renamed.status_code == 303
    assert renamed.headers["location"] == f"/connections#connection-{connection['id']}"
    assert [c["name"] for c in await _connections(web, account)] == ["work account"]
    assert empty.status_code == 422
    assert "1 to 100 characters." in empty.text
    assert too_long.status_code == 422
    assert "this one has 123." in too_long.text
    await web.post(
        "/api/v1/connections",
        json={"integration": "openai", "name": "other", "config": {"api_key": SANDBOX_API_KEY}},
        headers=account.headers,
    )
    taken = await web.post(path, data={"csrf_token": token, "name": "other"})
    assert taken.status_code == 409
    assert "A connection with this name already exists" in taken.text
    assert 'role="alert"' in taken.text


async def test_disable_enable_and_remove_after_confirming(web: httpx.AsyncClient) -> None:
    account, token = await _signed_in(web)
    await connect_openai(web, account)
    (connection,) = await _connections(web, account)
    base = f"/connections/{connection['id']}"

    disabled = await web.post(f"{base}/enabled", data={"csrf_token": token, "enabled": "false"})
    assert disabled.status_code == 303
    assert (await _connections(web, account))[0]["status"] == "disabled"
    page = await web.get("/connections")
    assert f'aria-label="Enable OpenAI {connection["name"]}"' in page.text
    enabled = await web.post(f"{base}/enabled", data={"csrf_token": token, "enabled": "true"})
    assert enabled.status_code == 303
    assert (await _connections(web, account))[0]["status"] == "active"
    nonsense = await web.post(f"{base}/enabled", data={"csrf_token": token, "enabled": "maybe"})
    assert nonsense.status_code == 400
    assert "<html" in nonsense.text

    assert "Its stored credentials are deleted" in (await web.get("/connections")).text
    removed = await web.post(f"{base}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert await _connections(web, account) == []
    again = await web.post(f"{base}/remove", data={"csrf_token": token})
    assert again.status_code == 404
    assert "No such connection" in again.text


async def test_move_changes_the_fallback_order_of_a_capability(web: httpx.AsyncClient) -> None:
    account, token = await _signed_in(web)
    for name in ("first", "second"):
        created = await web.post(
            "/api/v1/connections",
            json={"integration": "openai", "name": name, "config": {"api_key": SANDBOX_API_KEY}},
            headers=account.headers,
        )
        assert created.status_code == 201, created.text
    by_name = {str(c["name"]): str(c["id"]) for c in await _connections(web, account)}
    page = await web.get("/connections")
    assert 'id="fallback-llm"' in page.text
    assert page.text.index("Move OpenAI first down") < page.text.index("Move OpenAI second up")

    moved = await web.post(
        f"/connections/{by_name['second']}/move",
        data={"csrf_token": token, "capability": "llm", "direction": "up"},
    )

    assert moved.status_code == 303
    priorities = {str(c["name"]): c["priority"] for c in await _connections(web, account)}
    assert priorities["second"] < priorities["first"]  # type: ignore[operator]
    page = await web.get("/connections")
    assert page.text.index("Move OpenAI second down") < page.text.index("Move OpenAI first up")
    wrong = await web.post(
        f"/connections/{by_name['second']}/move",
        data={"csrf_token": token, "capability": "marketplace", "direction": "up"},
    )
    assert wrong.status_code == 400
    assert "does not offer this capability" in wrong.text
    bad = await web.post(
        f"/connections/{by_name['second']}/move",
        data={"csrf_token": token, "capability": "llm", "direction": "sideways"},
    )
    assert bad.status_code == 400
    assert "<html" in bad.text


async def test_an_integration_needing_an_extra_is_listed_with_how_to_enable_it(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    installed = Registry.from_entry_points()
    context.registry = Registry(
        [installed.get(spec.slug) for spec in installed.specs() if spec.slug != "onnx_local"],
        [UnavailableIntegration(spec=ONNX_SPEC, missing_module="onnxruntime", extra="onnx")],
    )
    await _signed_in(web)

    page = await web.get("/connections")

    assert 'id="integration-onnx_local"' in page.text
    assert ONNX_SPEC.title in page.text
    assert "Not enabled on this server." in page.text
    assert "pip install &#39;gigforge[onnx]&#39;" in page.text


def test_money_shows_as_dollars_and_shares_as_whole_percentages() -> None:
    assert dollars(0) == "$0.00"
    assert dollars(45) == "under $0.01"
    assert dollars(10_000) == "$0.01"
    assert dollars(1_234_565_000) == "$1,234.57"
    assert dollars(5_000_000) == "$5.00"
    assert percent(0, 100) == 0
    assert percent(1, 1_000) == 1
    assert percent(250, 1_000) == 25


async def test_usage_shows_routed_ai_spend_and_quota_calls_per_connection(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await connect_openai(web, account)
    await sign_in(web, account)
    await _connect_feed(sandbox_app, web, account, "himalayas")
    board = await web.get("/opportunities")
    opportunity_id = ROW.findall(board.text)[0]
    detail = await web.get(f"/opportunities/{opportunity_id}")
    drafted = await web.post(
        f"/opportunities/{opportunity_id}/proposals", data={"csrf_token": csrf_of(detail.text)}
    )
    assert drafted.status_code == 303

    page = await web.get("/usage")

    assert page.status_code == 200
    async with unit_of_work(sandbox_app.state.database) as session:
        rows = (await session.execute(select(AIUsage))).scalars().all()
    (usage,) = rows
    assert usage.integration == "openai"
    assert f'<span class="usage-model">{usage.model}</span>' in page.text
    assert f"{dollars(usage.cost_micro_usd)}</strong> of the $5.00 monthly budget" in page.text
    assert "Each request is also capped at $0.05" in page.text
    assert "1 request answered" in page.text
    metrics = sandbox_app.state.integrations.runtime.metrics
    feed_calls = sum(
        sample.value
        for metric in metrics.calls.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["integration"] == "himalayas"
    )
    assert feed_calls > 0
    assert f"{int(feed_calls):,} of 300 calls this day (quota)" in page.text
    assert '<span class="connection-integration">Himalayas</span>' in page.text


async def _finished(app: FastAPI, web: httpx.AsyncClient) -> httpx.Response:
    """The worker's part (the scan tasks Scan now enqueued), then the page's polling."""
    await app.state.tasks.run_due()
    for _ in range(200):
        status = await web.get(
            "/opportunities/scan/status?polling=1", headers={"HX-Request": "true"}
        )
        if 'hx-trigger="every 1s"' not in status.text:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("the scan did not finish")


async def test_scan_now_runs_in_the_background_and_reports_each_source(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    context.runtime.sleep = _no_wait
    account = await register(web)
    await sign_in(web, account)
    await _connect_feed(sandbox_app, web, account, "himalayas", scan=False)
    await _connect_feed(sandbox_app, web, account, "remoteok", scan=False)
    faults = sandbox_app.state.sandboxes["remoteok"].faults
    faults.error_status, faults.error_rate = 403, 1.0
    board = await web.get("/opportunities")
    assert "Scan now" in board.text
    assert "No opportunities yet." in board.text

    started = await web.post("/opportunities/scan", headers=_htmx(csrf_of(board.text)))
    assert started.status_code == 200
    assert 'id="scan-progress"' in started.text
    finished = await _finished(sandbox_app, web)

    assert finished.headers["HX-Trigger"] == "scan-finished"
    text = " ".join(finished.text.split())
    found = re.search(r"Himalayas \(default\)</span>: ([\d,]+) found, ([\d,]+) new", text)
    assert found is not None, text
    assert int(found.group(2).replace(",", "")) > 0
    assert re.search(r"Remote OK \(default\)</span>: <strong>failed</strong>: \S", text)
    assert "1 source failed" in text
    listed = await web.get("/opportunities", headers={"HX-Request": "true"})
    count = COUNT.search(listed.text)
    assert count is not None
    assert count.group(1) == found.group(2)


async def test_scan_now_without_sources_says_what_to_connect(web: httpx.AsyncClient) -> None:
    account = await register(web)
    await sign_in(web, account)
    board = await web.get("/opportunities")

    started = await web.post("/opportunities/scan", data={"csrf_token": csrf_of(board.text)})

    assert started.status_code == 303
    assert "you have no active job source" in (await web.get("/opportunities")).text


async def test_dismiss_lowers_the_count_and_undo_restores_the_opportunity(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await sign_in(web, account)
    await _connect_feed(sandbox_app, web, account, "himalayas")
    board = await web.get("/opportunities")
    token = csrf_of(board.text)
    count = COUNT.search(board.text)
    assert count is not None
    before = int(count.group(1).replace(",", ""))
    target = ROW.findall(board.text)[0]
    form = {"csrf_token": token, "return_to": "/opportunities?sort=best"}

    dismissed = await web.post(
        f"/opportunities/{target}/dismiss", data=form, headers={"HX-Request": "true"}
    )

    assert dismissed.status_code == 200
    assert f'hx-post="/opportunities/{target}/restore"' in dismissed.text
    assert re.search(
        rf'id="opportunity-count" hx-swap-oob="true">{before - 1:,} opportunit', dismissed.text
    )
    api = await web.get("/api/v1/jobs/opportunities", headers=account.headers)
    assert api.json()["total"] == before - 1

    restored = await web.post(
        f"/opportunities/{target}/restore", data=form, headers={"HX-Request": "true"}
    )

    assert restored.status_code == 200
    assert f'<li class="opportunity card" id="opportunity-{target}">' in restored.text
    assert re.search(
        rf'id="opportunity-count" hx-swap-oob="true">{before:,} opportunit', restored.text
    )
    one = await web.get(f"/api/v1/jobs/opportunities/{target}", headers=account.headers)
    assert one.json()["dismissed"] is False


async def test_the_api_restores_a_dismissed_opportunity_only_for_its_owner(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    owner = await register(web)
    await sign_in(web, owner)
    await _connect_feed(sandbox_app, web, owner, "himalayas")
    listed = await web.get("/api/v1/jobs/opportunities", headers=owner.headers)
    target = listed.json()["opportunities"][0]["id"]
    base = f"/api/v1/jobs/opportunities/{target}"
    await web.post(f"{base}/dismiss", headers=owner.headers)
    stranger = await register(web)

    refused = await web.post(f"{base}/restore", headers=stranger.headers)
    restored = await web.post(f"{base}/restore", headers=owner.headers)
    missing = await web.post(
        f"/api/v1/jobs/opportunities/{uuid.uuid4()}/restore", headers=owner.headers
    )

    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert restored.status_code == 200
    assert restored.json()["dismissed"] is False
    assert missing.status_code == 404


async def test_scan_now_skips_a_source_another_scan_holds_and_releases_its_own_lease(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    account = await register(web)
    await sign_in(web, account)
    held = await _connect_feed(sandbox_app, web, account, "himalayas", scan=False)
    free = await _connect_feed(sandbox_app, web, account, "remoteok", scan=False)
    now = utcnow()
    async with unit_of_work(context.database) as session:
        claimed = await SourceScheduleRepository(session).claim(
            held,
            user_id=uuid.UUID(account.user_id),
            now=now,
            lease_until=now + timedelta(minutes=10),
            interval_seconds=900,
        )
    assert claimed
    board = await web.get("/opportunities")

    await web.post("/opportunities/scan", headers=_htmx(csrf_of(board.text)))
    finished = " ".join((await _finished(sandbox_app, web)).text.split())

    assert "Himalayas (default)</span>: Another scan of this source is running" in finished
    assert re.search(r"Remote OK \(default\)</span>: [\d,]+ found, [\d,]+ new", finished)
    async with unit_of_work(context.database) as session:
        mine = await session.get(SourceSchedule, free)
        other = await session.get(SourceSchedule, held)
    assert mine is not None
    assert mine.claimed_until is None
    assert mine.next_run_at > now
    assert other is not None
    assert other.claimed_until is not None


async def test_the_scan_status_opened_as_a_page_is_the_board(web: httpx.AsyncClient) -> None:
    account = await register(web)
    await sign_in(web, account)

    opened = await web.get("/opportunities/scan/status")

    assert opened.status_code == 303
    assert opened.headers["location"] == "/opportunities"
