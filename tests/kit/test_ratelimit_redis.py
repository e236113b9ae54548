"""Two `gigforge serve` processes spend one rate limit through Redis."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from serving import serving

REDIS_URL = os.environ.get("GIGFORGE_TEST_REDIS_URL")

pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="GIGFORGE_TEST_REDIS_URL is not set; the shared-limit test needs Redis"
)


def _remaining(response: httpx.Response) -> int:
    match = re.search(r";r=(\d+);", response.headers["RateLimit"])
    assert match is not None, response.headers["RateLimit"]
    return int(match[1])


def _flush(url: str) -> None:
    """Counters left by an earlier run within the window would skew the counts."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter("gigforge-api*"):
            client.delete(key)
    finally:
        client.close()


def test_two_processes_share_one_limit_through_redis(tmp_path: Path) -> None:
    assert REDIS_URL is not None
    _flush(REDIS_URL)
    limits = {"REDIS_URL": REDIS_URL, "RATE_LIMIT_READ": "4/minute", "RATE_LIMIT_AUTH": "50/minute"}
    # Both processes use one data directory, so one database and one signing key.
    with serving(tmp_path, **limits) as first, serving(tmp_path, **limits) as second:
        registered = httpx.post(
            f"{first.base}/api/v1/auth/register",
            json={
                "email": "shared@example.com",
                "password": "two processes one limit",
                "full_name": "Shared",
            },
        )
        assert registered.status_code == 201, registered.text
        signed_in = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        answers = [
            httpx.get(f"{server.base}/api/v1/users/me", headers=signed_in)
            for server in (first, second, first, second, first)
        ]
        # Anonymous calls share the address's budget the same way.
        anonymous = [
            httpx.get(f"{server.base}/api/v1/users/me")
            for server in (second, first, second, first, second)
        ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 429]
    assert [_remaining(answer) for answer in answers] == [3, 2, 1, 0, 0]
    assert answers[4].headers["content-type"] == "application/problem+json"
    assert int(answers[4].headers["Retry-After"]) >= 1
    assert [answer.status_code for answer in anonymous] == [401, 401, 401, 401, 429]
    assert [_remaining(answer) for answer in anonymous] == [3, 2, 1, 0, 0]
