"""A forged CSRF token may hold any character: a non-ASCII one in the header, the form field
or the sign-in form is refused with the 403 page, never a 500."""

from __future__ import annotations

import httpx
import pytest

from factories import register
from web_support import csrf_of, sign_in

FORGED = ["\u00e9t\u00e9", "\u4e2d\u6587" * 30, "\u00ff"]


def _assert_expired_form_page(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "This form has expired" in response.text


@pytest.mark.parametrize("token", FORGED)
async def test_a_non_ascii_csrf_header_gets_the_403_page(
    web: httpx.AsyncClient, token: str
) -> None:
    account = await register(web)
    assert (await sign_in(web, account)).status_code == 303
    response = await web.post(
        "/logout", headers={"X-CSRF-Token": token.encode(), "HX-Request": "true"}
    )
    _assert_expired_form_page(response)


@pytest.mark.parametrize("token", FORGED)
async def test_a_non_ascii_csrf_form_field_gets_the_403_page(
    web: httpx.AsyncClient, token: str
) -> None:
    account = await register(web)
    assert (await sign_in(web, account)).status_code == 303
    response = await web.post("/logout", data={"csrf_token": token})
    _assert_expired_form_page(response)


@pytest.mark.parametrize("token", FORGED)
async def test_a_non_ascii_token_on_the_sign_in_form_gets_the_403_page(
    web: httpx.AsyncClient, token: str
) -> None:
    account = await register(web)
    await web.get("/login")
    response = await web.post(
        "/login",
        data={"email": account.email, "password": account.password, "csrf_token": token},
    )
    _assert_expired_form_page(response)


async def test_the_right_token_still_signs_out(web: httpx.AsyncClient) -> None:
    account = await register(web)
    assert (await sign_in(web, account)).status_code == 303
    page = await web.get("/account")
    response = await web.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
