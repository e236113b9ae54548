"""The sandbox speaks Salesforce's protocol: OAuth answers, SOQL errors, limits headers."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
from salesforce_support import Clock

from gigforge.integrations.salesforce.sandbox import SalesforceSandbox


def client(sandbox: SalesforceSandbox, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox", headers=headers
    )


async def test_web_server_flow_with_pkce_returns_instance_url(sandbox: SalesforceSandbox) -> None:
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    async with client(sandbox) as http:
        redirect = await http.get(
            "/services/oauth2/authorize",
            params={
                "response_type": "code",
                "client_id": sandbox.oauth.client_id,
                "redirect_uri": "http://app/callback",
                "state": "s1",
                "scope": "api refresh_token",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
        answer = await http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://app/callback",
                "code_verifier": verifier,
                "client_id": sandbox.oauth.client_id,
                "client_secret": sandbox.oauth.client_secret,
            },
        )
    body = answer.json()
    assert answer.status_code == 200
    assert body["instance_url"] == "http://sandbox"
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]
    assert "expires_in" not in body
    assert body["id"].startswith("https://login.salesforce.com/id/00D")


async def test_missing_token_is_invalid_session(sandbox: SalesforceSandbox) -> None:
    async with client(sandbox) as http:
        answer = await http.get("/services/data/v62.0/limits")
    assert answer.status_code == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


async def test_soql_errors_and_limit_header(sandbox: SalesforceSandbox) -> None:
    token = str(sandbox.oauth.issue("api")["access_token"])
    async with client(sandbox, token) as http:
        unknown = await http.get(
            "/services/data/v62.0/query", params={"q": "SELECT Id, Nope FROM Contact"}
        )
        malformed = await http.get("/services/data/v62.0/query", params={"q": "SELECT FROM WHERE"})
        stages = await http.get(
            "/services/data/v62.0/query",
            params={"q": "SELECT MasterLabel FROM OpportunityStage WHERE IsWon = true"},
        )
    assert unknown.status_code == 400
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope' on entity 'Contact'" in unknown.json()[0]["message"]
    assert malformed.json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert [r["MasterLabel"] for r in stages.json()["records"]] == ["Closed Won"]
    assert stages.headers["Sforce-Limit-Info"] == "api-usage=3/15000"


async def test_delete_log_window_ignores_seconds(sandbox: SalesforceSandbox, clock: Clock) -> None:
    token = str(sandbox.oauth.issue("api")["access_token"])
    gone = sandbox.add("Contact", LastName="Gone")
    clock.advance(seconds=30)
    sandbox.remove("Contact", gone)
    async with client(sandbox, token) as http:
        answer = await http.get(
            "/services/data/v62.0/sobjects/Contact/deleted/",
            params={"start": "2026-01-05T09:00:59+00:00", "end": "2026-01-05T09:02:00+00:00"},
        )
        backwards = await http.get(
            "/services/data/v62.0/sobjects/Contact/deleted/",
            params={"start": "2026-01-05T09:02:00+00:00", "end": "2026-01-05T09:01:00+00:00"},
        )
    assert answer.json()["deletedRecords"] == [
        {"id": gone, "deletedDate": "2026-01-05T09:00:30.000+0000"}
    ]
    assert answer.json()["latestDateCovered"] == "2026-01-05T09:02:00.000+0000"
    assert backwards.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
