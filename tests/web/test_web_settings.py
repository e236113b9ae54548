"""Settings pages over HTTP: profile, auto-approve, API keys, inbound webhooks, audit log."""

from __future__ import annotations

import json
import re
import time

import httpx
from fastapi import FastAPI

from factories import Account, grant_certification, register
from gigforge.opportunities.inbound import sign
from web_support import csrf_of, sign_in

SECRET_IN_PAGE = re.compile(r'id="issued-secret"[^>]*value="(gfi_[^"]+)"')
KEY_ID_IN_PAGE = re.compile(r'id="issued-key-id"[^>]*value="([0-9a-f-]{36})"')
API_KEY_IN_PAGE = re.compile(r'id="new-key"[^>]*value="(gf_[^"]+)"')
ENDPOINT_IN_LIST = re.compile(r'id="endpoint-([0-9a-f-]{36})"')
PROFILE = "/api/v1/users/me/profile"


async def _signed_in(web: httpx.AsyncClient) -> tuple[Account, str]:
    account = await register(web)
    await sign_in(web, account)
    page = await web.get("/settings")
    assert page.status_code == 200, page.text
    return account, csrf_of(page.text)


def _listing(secret: str, key_id: str, title: str) -> dict[str, object]:
    body = json.dumps({"url": f"https://www.fiverr.com/briefs/{abs(hash(title))}", "title": title})
    return {
        "content": body.encode(),
        "headers": {
            "Content-Type": "application/json",
            "X-Gigforge-Key-Id": key_id,
            "X-Gigforge-Signature": sign(secret, int(time.time()), body.encode()),
        },
    }


async def test_settings_pages_send_a_signed_out_browser_to_sign_in(
    web: httpx.AsyncClient,
) -> None:
    for path in ("/settings", "/settings/profile", "/settings/api-keys", "/settings/audit"):
        response = await web.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fsettings")


async def test_the_hub_links_every_section_and_warns_that_an_empty_profile_scores_50(
    web: httpx.AsyncClient,
) -> None:
    await _signed_in(web)
    hub = await web.get("/settings")
    for path in ("profile", "auto-approve", "api-keys", "inbound", "audit"):
        assert f'href="/settings/{path}"' in hub.text
    assert "every fit score shows 50/100" in hub.text
    assert "Off: every proposal waits for you to approve it." in hub.text


async def test_the_profile_form_saves_skills_and_reads_amounts_in_major_units(
    web: httpx.AsyncClient,
) -> None:
    account, csrf = await _signed_in(web)
    page = await web.get("/settings/profile")
    assert "every fit score shows <strong>50/100</strong>" in page.text
    saved = await web.post(
        "/settings/profile",
        data={
            "csrf_token": csrf,
            "skills": "Python, Django, , postgresql",
            "currency": "usd",
            "min_budget": "1,500.00",
            "hourly_rate": "72.5",
            "categories": "Web Development\nWeb, Mobile & Software Dev\n",
            "excluded_keywords": "wordpress",
            "excluded_countries": "",
            "min_client_rating": "4.5",
            "require_payment_verified": "on",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/settings/profile?saved=1"
    profile = (await web.get(PROFILE, headers=account.headers)).json()
    assert profile["skills"] == ["python", "django", "postgresql"]
    assert profile["min_budget"] == 1500
    assert profile["hourly_rate"] == 72.5
    assert profile["currency"] == "USD"
    assert profile["categories"] == ["Web Development", "Web, Mobile & Software Dev"]
    assert profile["min_client_rating"] == 4.5
    assert profile["require_payment_verified"] is True
    shown = await web.get("/settings/profile?saved=1")
    assert "Profile saved." in shown.text
    assert 'value="1500.00"' in shown.text
    assert 'value="python, django, postgresql"' in shown.text
    assert "every fit score shows 50/100" not in (await web.get("/settings")).text


async def test_an_amount_with_more_decimals_than_the_currency_is_a_form_error(
    web: httpx.AsyncClient,
) -> None:
    account, csrf = await _signed_in(web)
    refused = await web.post(
        "/settings/profile",
        data={"csrf_token": csrf, "skills": "python", "currency": "JPY", "min_budget": "1500.5"},
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "The profile was not saved." in refused.text
    assert "JPY amounts are whole numbers, without decimals." in refused.text
    assert 'value="1500.5"' in refused.text  # what was typed stays in the form
    assert (await web.get(PROFILE, headers=account.headers)).json()["skills"] == []

    cents = await web.post(
        "/settings/profile",
        data={"csrf_token": csrf, "currency": "USD", "hourly_rate": "10.005"},
    )
    assert cents.status_code == 422
    assert "USD amounts have at most 2 decimals." in cents.text


async def test_a_bad_currency_rating_or_skill_is_shown_beside_its_field(
    web: httpx.AsyncClient,
) -> None:
    _, csrf = await _signed_in(web)
    refused = await web.post(
        "/settings/profile",
        data={
            "csrf_token": csrf,
            "skills": "python, " + "x" * 61,
            "currency": "dollars",
            "min_budget": "100",
            "min_client_rating": "7",
        },
    )
    assert refused.status_code == 422
    assert "Enter a three-letter currency code" in refused.text
    assert "Enter a rating from 0 to 5" in refused.text
    assert 'aria-invalid="true"' in refused.text
    ok_currency = await web.post(
        "/settings/profile",
        data={"csrf_token": csrf, "skills": "python, " + "x" * 61, "currency": "USD"},
    )
    assert ok_currency.status_code == 422
    assert "item 2: String should have at most 60 characters." in ok_currency.text


async def test_auto_approve_is_off_until_the_caps_are_saved_and_the_change_is_audited(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account, csrf = await _signed_in(web)
    await grant_certification(sandbox_app, account.user_id, 1)
    page = await web.get("/settings/auto-approve")
    assert "Now: off" in page.text
    assert 'id="a-enabled" name="enabled" type="checkbox" aria-describedby' in page.text
    saved = await web.post(
        "/settings/auto-approve",
        data={
            "csrf_token": csrf,
            "enabled": "on",
            "max_budget": "1,200.50",
            "min_chance": "85%",
            "max_per_day": "3",
        },
    )
    assert saved.status_code == 303
    page = await web.get("/settings/auto-approve?saved=1")
    assert "Now: on" in page.text
    assert "Auto-approve rule saved." in page.text
    assert "budgets up to 1,200.50" in page.text
    assert "at least 85%" in page.text
    assert "at most 3 a day" in page.text
    assert 'value="1200.50"' in page.text
    assert 'value="85"' in page.text
    audit = await web.get("/settings/audit")
    assert "Changed the auto-approve rule" in audit.text
    assert "on; budgets up to 1,200.50; chance of winning at least 85%; at most 3 a day" in (
        audit.text
    )


async def test_auto_approve_caps_out_of_range_are_refused_in_the_form(
    web: httpx.AsyncClient,
) -> None:
    _, csrf = await _signed_in(web)
    refused = await web.post(
        "/settings/auto-approve",
        data={
            "csrf_token": csrf,
            "enabled": "on",
            "max_budget": "1.001",
            "min_chance": "150",
            "max_per_day": "1000",
        },
    )
    assert refused.status_code == 422
    assert "USD amounts have at most 2 decimals." in refused.text
    assert "Enter a percentage from 0 to 100" in refused.text
    assert "Enter a whole number from 0 to 100." in refused.text
    too_big = await web.post(
        "/settings/auto-approve",
        data={"csrf_token": csrf, "max_budget": "2,000,000", "min_chance": "90"},
    )
    assert too_big.status_code == 422
    assert "must be between 0 and 1,000,000.00" in too_big.text
    assert "Now: off" in (await web.get("/settings/auto-approve")).text


async def test_a_new_api_key_is_shown_once_works_on_the_api_and_stops_when_revoked(
    web: httpx.AsyncClient,
) -> None:
    _, csrf = await _signed_in(web)
    created = await web.post(
        "/settings/api-keys",
        data={"csrf_token": csrf, "name": "CRM sync", "scopes": ["jobs:read"], "expires": "30"},
    )
    assert created.status_code == 201
    assert "copy it now" in created.text
    found = API_KEY_IN_PAGE.search(created.text)
    assert found is not None
    key = found.group(1)
    headers = {"Authorization": f"Bearer {key}"}
    assert (await web.get(PROFILE, headers=headers)).status_code == 200
    assert (await web.get("/api/v1/api-keys", headers=headers)).status_code == 403

    listed = await web.get("/settings/api-keys")
    assert key not in listed.text
    assert key[:10] in listed.text
    assert "Read opportunities and proposals" in listed.text
    assert "Active" in listed.text
    key_id = (await web.get("/api/v1/api-keys", headers=_bearer(web))).json()["items"][0]["id"]
    revoked = await web.post(f"/settings/api-keys/{key_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert (await web.get(PROFILE, headers=headers)).status_code == 401
    assert "Revoked" in (await web.get("/settings/api-keys")).text


def _bearer(web: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {web.cookies['gigforge_session']}"}


async def test_the_api_key_form_explains_what_is_missing(web: httpx.AsyncClient) -> None:
    _, csrf = await _signed_in(web)
    refused = await web.post(
        "/settings/api-keys", data={"csrf_token": csrf, "name": "", "expires": "12"}
    )
    assert refused.status_code == 422
    assert "Give the key a name" in refused.text
    assert "Choose at least one thing the key may do." in refused.text
    assert "Choose one of the listed expiry times." in refused.text
    unknown = await web.post(
        "/settings/api-keys", data={"csrf_token": csrf, "name": "x", "scopes": "jobs:fly"}
    )
    assert unknown.status_code == 422
    assert "does not exist" in unknown.text
    assert "You have no API keys." in unknown.text


async def test_a_viewer_sees_keys_and_endpoints_but_cannot_create_them(
    web: httpx.AsyncClient,
) -> None:
    admin = await register(web)
    member = await register(web)
    demoted = await web.patch(
        f"/api/v1/users/{member.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    assert demoted.status_code == 200, demoted.text
    await sign_in(web, member)
    keys = await web.get("/settings/api-keys")
    assert keys.status_code == 200
    assert "Your role can see keys but not create or revoke them." in keys.text
    assert 'action="/settings/api-keys"' not in keys.text
    forbidden = await web.post(
        "/settings/api-keys",
        data={"csrf_token": csrf_of(keys.text), "name": "x", "scopes": "jobs:read"},
    )
    assert forbidden.status_code == 403
    assert "Your role can not create API keys." in forbidden.text
    inbound = await web.post(
        "/settings/inbound", data={"csrf_token": csrf_of(keys.text), "source": "fiverr"}
    )
    assert inbound.status_code == 403
    profile = await web.get("/settings/profile")
    assert "Your role can read the profile but not change it." in profile.text


async def test_an_inbound_endpoint_made_in_the_page_accepts_listings_signed_with_its_secret(
    web: httpx.AsyncClient,
) -> None:
    account, csrf = await _signed_in(web)
    created = await web.post("/settings/inbound", data={"csrf_token": csrf, "source": "fiverr"})
    assert created.status_code == 201
    assert "copy the secret now" in created.text
    assert (
        'id="issued-url" class="secret-value" value="http://127.0.0.1:8000/api/v1/inbound/fiverr"'
        in (created.text)
    )
    assert "X-Gigforge-Signature: t=" in created.text
    secret = SECRET_IN_PAGE.search(created.text)
    key_id = KEY_ID_IN_PAGE.search(created.text)
    assert secret is not None
    assert key_id is not None
    accepted = await web.post(
        "/api/v1/inbound/fiverr", **_listing(secret.group(1), key_id.group(1), "Logo job")
    )
    assert accepted.status_code == 202, accepted.text
    listed = await web.get("/settings/inbound")
    assert secret.group(1) not in listed.text
    assert ENDPOINT_IN_LIST.findall(listed.text) == [key_id.group(1)]
    assert "never" not in listed.text.split(f'id="endpoint-{key_id.group(1)}"')[1]
    jobs = await web.get("/api/v1/jobs/opportunities", headers=account.headers)
    assert [job["title"] for job in jobs.json()["opportunities"]] == ["Logo job"]


async def test_a_new_inbound_secret_replaces_the_old_one_and_deleting_refuses_requests(
    web: httpx.AsyncClient,
) -> None:
    _, csrf = await _signed_in(web)
    created = await web.post("/settings/inbound", data={"csrf_token": csrf, "source": "guru"})
    old_secret = SECRET_IN_PAGE.search(created.text)
    key_id = KEY_ID_IN_PAGE.search(created.text)
    assert old_secret is not None
    assert key_id is not None
    endpoint_id = key_id.group(1)

    rotated = await web.post(f"/settings/inbound/{endpoint_id}/rotate", data={"csrf_token": csrf})
    assert rotated.status_code == 200
    assert "The old secret no longer works" in rotated.text
    new_secret = SECRET_IN_PAGE.search(rotated.text)
    assert new_secret is not None
    assert new_secret.group(1) != old_secret.group(1)
    old = await web.post("/api/v1/inbound/guru", **_listing(old_secret.group(1), endpoint_id, "A"))
    assert old.status_code == 401
    new = await web.post("/api/v1/inbound/guru", **_listing(new_secret.group(1), endpoint_id, "B"))
    assert new.status_code == 202

    deleted = await web.post(f"/settings/inbound/{endpoint_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert "No inbound endpoints yet." in (await web.get("/settings/inbound")).text
    gone = await web.post("/api/v1/inbound/guru", **_listing(new_secret.group(1), endpoint_id, "C"))
    assert gone.status_code == 401
    audit = (await web.get("/settings/audit")).text
    for words in (
        "Created an inbound webhook",
        "Replaced an inbound webhook&#39;s secret",
        "Deleted an inbound webhook",
    ):
        assert words in audit
    assert "Deleted an inbound webhook</strong>: “guru”" in audit


async def test_an_invalid_inbound_source_is_explained_in_the_form(web: httpx.AsyncClient) -> None:
    _, csrf = await _signed_in(web)
    refused = await web.post(
        "/settings/inbound", data={"csrf_token": csrf, "source": "Fiverr Alerts!"}
    )
    assert refused.status_code == 422
    assert "lowercase letters, digits, - and _" in refused.text
    assert 'value="fiverr alerts!"' in refused.text


async def test_another_users_endpoint_or_key_is_not_found_as_a_page(
    web: httpx.AsyncClient,
) -> None:
    _, csrf = await _signed_in(web)
    created = await web.post("/settings/inbound", data={"csrf_token": csrf, "source": "fiverr"})
    key_id = KEY_ID_IN_PAGE.search(created.text)
    assert key_id is not None
    other = await register(web)
    web.cookies.clear()
    await sign_in(web, other)
    other_csrf = csrf_of((await web.get("/settings")).text)
    for path in (
        f"/settings/inbound/{key_id.group(1)}/rotate",
        f"/settings/inbound/{key_id.group(1)}/delete",
        "/settings/inbound/not-a-uuid/delete",
        "/settings/api-keys/not-a-uuid/revoke",
        f"/settings/api-keys/{key_id.group(1)}/revoke",
    ):
        response = await web.post(path, data={"csrf_token": other_csrf})
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "It does not exist or belongs to someone else." in response.text


async def test_settings_forms_without_the_csrf_token_are_refused(web: httpx.AsyncClient) -> None:
    await _signed_in(web)
    for path, data in (
        ("/settings/profile", {"skills": "python"}),
        ("/settings/auto-approve", {"enabled": "on"}),
        ("/settings/api-keys", {"name": "x", "scopes": "jobs:read"}),
        ("/settings/inbound", {"source": "fiverr"}),
    ):
        response = await web.post(path, data=data)
        assert response.status_code == 403, path
        assert "This form has expired" in response.text
    assert "Now: off" in (await web.get("/settings/auto-approve")).text


async def test_the_audit_log_is_worded_newest_first_and_paged(web: httpx.AsyncClient) -> None:
    account, _ = await _signed_in(web)
    for number in range(26):
        made = await web.post(
            "/api/v1/api-keys",
            json={"name": f"key {number}", "scopes": ["jobs:read"]},
            headers=account.headers,
        )
        assert made.status_code == 201
    first = await web.get("/settings/audit")
    assert first.status_code == 200
    main = first.text.split('<main id="main"', 1)[1]
    assert "{&#34;" not in main
    assert '{"' not in main
    assert first.text.index("Created an API key</strong>: “key 25”") < first.text.index("“key 24”")
    assert "Created an API key" in first.text
    assert "permissions: jobs:read" in first.text
    assert "You · <time" in first.text
    assert 'href="/settings/audit?offset=25" rel="next">Older records' in first.text
    older = await web.get("/settings/audit?offset=25")
    assert "<strong>Signed up</strong></p>" in older.text
    assert "role: admin" in older.text
    signed_up = older.text.split("<strong>Signed up</strong>", 1)[1].split("</li>", 1)[0]
    assert "You · <time" in signed_up
    assert "Signed in" in older.text
    assert 'href="/settings/audit?offset=0" rel="prev">Newer records' in older.text
    for offset in ("abc", "-5", "99999999999999999999999"):
        tolerant = await web.get(f"/settings/audit?offset={offset}")
        assert tolerant.status_code == 200, offset
        assert tolerant.headers["content-type"].startswith("text/html")


async def test_members_see_their_own_records_and_admins_see_everyones(
    web: httpx.AsyncClient,
) -> None:
    admin = await register(web)
    member = await register(web)
    await sign_in(web, member)
    mine = await web.get("/settings/audit")
    assert "Everything done by you or to your account." in mine.text
    assert admin.email not in mine.text
    web.cookies.clear()
    await sign_in(web, admin)
    everyone = await web.get("/settings/audit")
    assert "you see every account" in everyone.text
    assert member.email in everyone.text


async def test_more_than_a_hundred_skills_is_refused_beside_the_field(
    web: httpx.AsyncClient,
) -> None:
    account, csrf = await _signed_in(web)
    many = ", ".join(f"skill{number}" for number in range(101))
    refused = await web.post("/settings/profile", data={"csrf_token": csrf, "skills": many})
    assert refused.status_code == 422
    assert 'id="p-skills-error">List should have at most 100 items' in refused.text
    assert (await web.get(PROFILE, headers=account.headers)).json()["skills"] == []
