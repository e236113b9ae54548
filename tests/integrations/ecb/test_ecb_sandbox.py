"""The ECB sandbox speaks the feed as the ECB serves it, dated as the ECB would date it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from gigforge.integrations.ecb.sandbox import (
    create_sandbox,
    easter_sunday,
    is_target_working_day,
    publication_day,
)


async def test_the_feed_is_served_at_its_real_path_in_the_ecbs_own_layout() -> None:
    sandbox = create_sandbox(now=datetime(2026, 1, 5, 18, tzinfo=UTC))
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.get("/stats/eurofxref/eurofxref-daily.xml")
        missing = await client.get("/stats/eurofxref/eurofxref-hist.xml")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<gesmes:Envelope ')
    assert "\t\t<Cube time='2026-01-05'>\n\t\t\t<Cube currency='USD' rate='1.1712'/>" in (
        response.text
    )
    assert "RUB" not in response.text
    assert missing.status_code == 404


async def test_faults_answer_with_the_sites_html_error_page() -> None:
    sandbox = create_sandbox()
    sandbox.faults.error_rate = 1.0
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.get("/stats/eurofxref/eurofxref-daily.xml")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (datetime(2026, 1, 6, 15, 30, tzinfo=UTC), date(2026, 1, 6)),  # Tuesday, published
        (datetime(2026, 1, 6, 9, 0, tzinfo=UTC), date(2026, 1, 5)),  # Tuesday morning
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), date(2026, 1, 2)),  # Monday morning
        (datetime(2026, 1, 10, 20, 0, tzinfo=UTC), date(2026, 1, 9)),  # Saturday
        (datetime(2026, 1, 1, 18, 0, tzinfo=UTC), date(2025, 12, 31)),  # New Year's Day
        (datetime(2025, 12, 29, 8, 0, tzinfo=UTC), date(2025, 12, 24)),  # after Christmas
        (datetime(2026, 4, 7, 10, 0, tzinfo=UTC), date(2026, 4, 2)),  # after Easter
    ],
)
def test_the_feed_is_dated_the_last_target_working_day_published(now: datetime, day: date) -> None:
    assert publication_day(now) == day


def test_target_closing_days_follow_easter() -> None:
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert easter_sunday(2025) == date(2025, 4, 20)
    assert not is_target_working_day(date(2026, 4, 3))  # Good Friday
    assert not is_target_working_day(date(2026, 4, 6))  # Easter Monday
    assert not is_target_working_day(date(2026, 5, 1))
    assert is_target_working_day(date(2026, 4, 2))
