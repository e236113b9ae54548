"""Signed inbound requests: whatever a sender puts in the signature header or the body is
a clear 4xx, never a 500, and an exact replay inside the tolerance window is refused."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from factories import register
from gigforge.opportunities.inbound import BadSignature, sign, verify

URL = "/api/v1/inbound/fiverr"
BRIEF = {"url": "https://www.fiverr.com/briefs/9876543", "title": "A logo", "skills": ["logo"]}


async def _endpoint(client: httpx.AsyncClient) -> dict[str, str]:
    account = await register(client)
    created = await client.post(
        "/api/v1/inbound-endpoints", json={"source": "fiverr"}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    endpoint: dict[str, str] = created.json()
    return endpoint


def _headers(endpoint: dict[str, str], signature: str) -> dict[str, str | bytes]:
    return {
        "Content-Type": "application/json",
        "X-Gigforge-Key-Id": endpoint["id"],
        "X-Gigforge-Signature": signature,
    }


async def test_an_exact_replay_inside_the_window_is_a_409(client: httpx.AsyncClient) -> None:
    endpoint = await _endpoint(client)
    body = json.dumps(BRIEF).encode()
    headers = _headers(endpoint, sign(endpoint["secret"], int(time.time()), body))
    first = await client.post(URL, content=body, headers=headers)
    assert first.status_code == 202, first.text
    replay = await client.post(URL, content=body, headers=headers)
    assert replay.status_code == 409
    assert replay.headers["content-type"] == "application/problem+json"
    assert replay.json()["type"] == "urn:gigforge:problem:inbound-replay"
    assert "already received" in replay.json()["title"]
    resigned = _headers(endpoint, sign(endpoint["secret"], int(time.time()) + 1, body))
    assert (await client.post(URL, content=body, headers=resigned)).status_code == 202


async def test_a_refused_body_does_not_use_up_its_signature(client: httpx.AsyncClient) -> None:
    endpoint = await _endpoint(client)
    body = b'{"items": []}'
    headers = _headers(endpoint, sign(endpoint["secret"], int(time.time()), body))
    assert (await client.post(URL, content=body, headers=headers)).status_code == 422
    assert (await client.post(URL, content=body, headers=headers)).status_code == 422


@pytest.mark.parametrize(
    "signature",
    [
        "t={now},v1=\u00e9\u00e9\u00e9",
        "t={now},v1=" + "\u00ff" * 64,
        "t=" + "9" * 5000 + ",v1=00",
        "t=" + "1" * 400 + ",v1=00",
        "t=-{now},v1=00",
        "t=\u0661\u0662\u0663,v1=00",
        "v1=00",
        ",,,=,=",
    ],
)
async def test_a_malformed_signature_header_is_a_401(
    client: httpx.AsyncClient, signature: str
) -> None:
    endpoint = await _endpoint(client)
    header = signature.replace("{now}", str(int(time.time())))
    response = await client.post(
        URL,
        content=json.dumps(BRIEF).encode(),
        # Raw UTF-8 bytes on the wire, as a misbehaving sender would send them.
        headers={**_headers(endpoint, "x"), "X-Gigforge-Signature": header.encode()},
    )
    assert response.status_code == 401, response.text
    assert response.json()["type"] == "urn:gigforge:problem:bad-signature"


def test_verify_refuses_non_ascii_and_huge_timestamps_without_raising_anything_else() -> None:
    body = b"{}"
    now = 1_000_000
    good = sign("s", now, body)
    assert verify("s", good, body, now=now) == now
    for header in (good[:-2] + "\u00e9\u00e9", "t=" + "9" * 400 + ",v1=ab", "t=1e9,v1=ab"):
        with pytest.raises(BadSignature):
            verify("s", header, body, now=now)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        json.dumps({**BRIEF, "skills": [[[[[[[[["deep"]]]]]]]]]}).encode(),
    ],
)
async def test_a_deeply_nested_signed_body_is_a_4xx(client: httpx.AsyncClient, body: bytes) -> None:
    endpoint = await _endpoint(client)
    response = await client.post(
        URL,
        content=body,
        headers=_headers(endpoint, sign(endpoint["secret"], int(time.time()), body)),
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
