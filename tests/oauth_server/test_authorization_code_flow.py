"""Authorization code with PKCE S256, in process: consent, token, API calls, refresh rotation
and reuse detection, revocation, introspection, metadata."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from fastapi import FastAPI
from oauth_support import (
    REDIRECT_URI,
    authorize_code,
    bearer,
    exchange,
    refresh,
    register_app,
    signed_in,
)

from factories import register, stored_events


async def _user_and_app(client: httpx.AsyncClient, **app: object) -> tuple[object, object]:
    account = await register(client)
    registered = await register_app(client, account, **app)  # type: ignore[arg-type]
    await signed_in(client, account)
    return account, registered


async def test_code_with_pkce_gives_tokens_that_work_on_the_api_within_their_scopes(
    client: httpx.AsyncClient,
) -> None:
    account, app = await _user_and_app(client)
    code, verifier = await authorize_code(client, app, scope="users:read jobs:read")  # type: ignore[arg-type]
    response = await exchange(client, app, code, verifier)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "users:read jobs:read"
    assert tokens["access_token"].startswith("gfo_")
    assert tokens["refresh_token"].startswith("gfor_")

    me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == account.email  # type: ignore[attr-defined]
    listed = await client.get("/api/v1/jobs/opportunities", headers=bearer(tokens["access_token"]))
    assert listed.status_code == 200, listed.text

    write = await client.post(
        f"/api/v1/jobs/opportunities/{uuid.uuid4()}/dismiss", headers=bearer(tokens["access_token"])
    )
    assert write.status_code == 403
    assert write.json()["type"].endswith("insufficient-scope")
    keys = await client.get("/api/v1/api-keys", headers=bearer(tokens["access_token"]))
    assert keys.status_code == 403


async def test_a_token_with_only_jobs_read_cannot_write(client: httpx.AsyncClient) -> None:
    _, app = await _user_and_app(client, scopes=("jobs:read", "jobs:write"))
    code, verifier = await authorize_code(client, app, scope="jobs:read")  # type: ignore[arg-type]
    access = (await exchange(client, app, code, verifier)).json()["access_token"]  # type: ignore[arg-type]
    missing = f"/api/v1/jobs/opportunities/{uuid.uuid4()}/dismiss"
    assert (await client.post(missing, headers=bearer(access))).status_code == 403
    assert (await client.get("/api/v1/users/me", headers=bearer(access))).status_code == 403


async def test_a_code_works_once_and_its_replay_revokes_the_tokens(
    client: httpx.AsyncClient,
) -> None:
    _, app = await _user_and_app(client)
    code, verifier = await authorize_code(client, app)  # type: ignore[arg-type]
    first = await exchange(client, app, code, verifier)  # type: ignore[arg-type]
    access = first.json()["access_token"]
    replay = await exchange(client, app, code, verifier)  # type: ignore[arg-type]
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (await client.get("/api/v1/users/me", headers=bearer(access))).status_code == 401


async def test_the_verifier_must_match_the_challenge(client: httpx.AsyncClient) -> None:
    _, app = await _user_and_app(client)
    code, _ = await authorize_code(client, app)  # type: ignore[arg-type]
    wrong = await exchange(client, app, code, "x" * 50)  # type: ignore[arg-type]
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    code, _ = await authorize_code(client, app)  # type: ignore[arg-type]
    missing = await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(app.client_id, app.client_secret),  # type: ignore[attr-defined]
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


async def test_refresh_rotates_and_reusing_a_rotated_token_revokes_the_grant(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, registered = await _user_and_app(client)
    code, verifier = await authorize_code(client, registered)  # type: ignore[arg-type]
    first = (await exchange(client, registered, code, verifier)).json()  # type: ignore[arg-type]

    rotated = await refresh(client, registered, first["refresh_token"])  # type: ignore[arg-type]
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/api/v1/users/me", headers=bearer(second["access_token"]))
    ).status_code == 200

    reused = await refresh(client, registered, first["refresh_token"])  # type: ignore[arg-type]
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert (
        await client.get("/api/v1/users/me", headers=bearer(second["access_token"]))
    ).status_code == 401
    after = await refresh(client, registered, second["refresh_token"])  # type: ignore[arg-type]
    assert after.json()["error"] == "invalid_grant"
    revoked = await stored_events(app, "oauth.grant_revoked")
    assert [event.payload["reason"] for event in revoked] == ["refresh_token_reused"]


async def test_refresh_may_narrow_the_scope_but_not_widen_it(client: httpx.AsyncClient) -> None:
    _, app = await _user_and_app(client)
    code, verifier = await authorize_code(client, app, scope="jobs:read")  # type: ignore[arg-type]
    tokens = (await exchange(client, app, code, verifier)).json()  # type: ignore[arg-type]
    wider = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "jobs:read users:read",
        },
        auth=(app.client_id, app.client_secret),  # type: ignore[attr-defined]
    )
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"


async def test_a_public_app_uses_pkce_without_a_secret(client: httpx.AsyncClient) -> None:
    account, app = await _user_and_app(client, client_type="public")
    assert app.client_secret is None  # type: ignore[attr-defined]
    code, verifier = await authorize_code(client, app)  # type: ignore[arg-type]
    tokens = await exchange(client, app, code, verifier)  # type: ignore[arg-type]
    assert tokens.status_code == 200, tokens.text
    rotated = await refresh(client, app, tokens.json()["refresh_token"])  # type: ignore[arg-type]
    assert rotated.status_code == 200, rotated.text
    me = await client.get("/api/v1/users/me", headers=bearer(rotated.json()["access_token"]))
    assert me.json()["email"] == account.email  # type: ignore[attr-defined]


async def test_a_confidential_app_must_authenticate(client: httpx.AsyncClient) -> None:
    _, app = await _user_and_app(client)
    code, verifier = await authorize_code(client, app)  # type: ignore[arg-type]
    anonymous = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": app.client_id,  # type: ignore[attr-defined]
        },
    )
    assert anonymous.status_code in {400, 401}
    assert anonymous.json()["error"] == "invalid_client"
    wrong_secret = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(app.client_id, "gfs_not-the-secret"),  # type: ignore[attr-defined]
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    by_post = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": app.client_id,  # type: ignore[attr-defined]
            "client_secret": app.client_secret,  # type: ignore[attr-defined]
        },
    )
    assert by_post.status_code == 200, by_post.text


async def test_password_and_client_credentials_grants_are_refused(
    client: httpx.AsyncClient,
) -> None:
    account, app = await _user_and_app(client)
    for data in (
        {"grant_type": "password", "username": account.email, "password": account.password},  # type: ignore[attr-defined]
        {"grant_type": "client_credentials"},
    ):
        refused = await client.post(
            "/oauth/token",
            data=data,
            auth=(app.client_id, app.client_secret),  # type: ignore[attr-defined]
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "unsupported_grant_type"


async def test_revocation_takes_effect_on_the_next_request(client: httpx.AsyncClient) -> None:
    _, app = await _user_and_app(client)
    auth = (app.client_id, app.client_secret)  # type: ignore[attr-defined]
    code, verifier = await authorize_code(client, app)  # type: ignore[arg-type]
    tokens = (await exchange(client, app, code, verifier)).json()  # type: ignore[arg-type]
    assert (
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    revoked = await client.post("/oauth/revoke", data={"token": tokens["access_token"]}, auth=auth)
    assert revoked.status_code == 200
    assert (
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    unknown = await client.post("/oauth/revoke", data={"token": "gfo_unknown"}, auth=auth)
    assert unknown.status_code == 200

    code, verifier = await authorize_code(client, app)  # type: ignore[arg-type]
    tokens = (await exchange(client, app, code, verifier)).json()  # type: ignore[arg-type]
    await client.post(
        "/oauth/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=auth,
    )
    assert (
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    assert (await refresh(client, app, tokens["refresh_token"])).json()["error"] == "invalid_grant"  # type: ignore[arg-type]


async def test_introspection_describes_the_apps_own_live_tokens(
    client: httpx.AsyncClient,
) -> None:
    account, app = await _user_and_app(client)
    other = await register_app(client, account, name="Someone else")  # type: ignore[arg-type]
    auth = (app.client_id, app.client_secret)  # type: ignore[attr-defined]
    code, verifier = await authorize_code(client, app)  # type: ignore[arg-type]
    tokens = (await exchange(client, app, code, verifier)).json()  # type: ignore[arg-type]

    active = (
        await client.post("/oauth/introspect", data={"token": tokens["access_token"]}, auth=auth)
    ).json()
    assert active["active"] is True
    assert active["client_id"] == app.client_id  # type: ignore[attr-defined]
    assert active["scope"] == "users:read jobs:read"
    assert active["sub"] == account.user_id  # type: ignore[attr-defined]
    assert active["token_type"] == "Bearer"
    assert active["exp"] > active["iat"]
    as_refresh = (
        await client.post(
            "/oauth/introspect",
            data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
            auth=auth,
        )
    ).json()
    assert as_refresh["active"] is True
    assert as_refresh["token_type"] == "refresh_token"

    foreign = await client.post(
        "/oauth/introspect",
        data={"token": tokens["access_token"]},
        auth=(other.client_id, other.client_secret),  # type: ignore[arg-type]
    )
    assert foreign.json() == {"active": False}
    anonymous = await client.post("/oauth/introspect", data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401

    await client.post("/oauth/revoke", data={"token": tokens["access_token"]}, auth=auth)
    gone = await client.post("/oauth/introspect", data={"token": tokens["access_token"]}, auth=auth)
    assert gone.json() == {"active": False}


async def test_metadata_follows_rfc_8414(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    metadata = response.json()
    issuer = app.state.settings.public_url.rstrip("/")
    assert metadata["issuer"] == issuer
    assert metadata["token_endpoint"] == f"{issuer}/oauth/token"
    assert metadata["authorization_endpoint"] == f"{issuer}/oauth/authorize"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert metadata["response_types_supported"] == ["code"]
    assert "admin" not in metadata["scopes_supported"]
    AuthorizationServerMetadata(metadata).validate()


async def test_two_refreshes_racing_with_one_token_count_as_reuse(
    client: httpx.AsyncClient,
) -> None:
    _, registered = await _user_and_app(client)
    code, verifier = await authorize_code(client, registered)  # type: ignore[arg-type]
    first = (await exchange(client, registered, code, verifier)).json()  # type: ignore[arg-type]
    answers = await asyncio.gather(
        refresh(client, registered, first["refresh_token"]),  # type: ignore[arg-type]
        refresh(client, registered, first["refresh_token"]),  # type: ignore[arg-type]
    )
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    [issued] = [answer.json() for answer in answers if answer.status_code == 200]
    me = await client.get("/api/v1/users/me", headers=bearer(issued["access_token"]))
    assert me.status_code == 401
