"""/docs and /redoc work with no network: their assets come from the package, under a CSP.

The Chromium test runs `gigforge serve` on a loopback port and aborts every request to any
other host, as an offline machine would.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gigforge.web import STATIC_DIR
from serving import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
REFERENCES = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""")
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
VENDORED = [
    "vendor/swagger-ui/swagger-ui-bundle.js",
    "vendor/swagger-ui/swagger-ui.css",
    "vendor/swagger-ui/LICENSE",
    "vendor/swagger-ui/NOTICE",
    "vendor/redoc/redoc.standalone.js",
    "vendor/redoc/LICENSE",
]


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_reference_no_other_host(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    references = REFERENCES.findall(page.text)
    assert references
    for reference in references:
        assert reference.startswith("/"), reference
        assert not reference.startswith("//"), reference
    assert "fonts.googleapis" not in page.text
    assert "cdn.jsdelivr" not in page.text


async def test_the_swagger_page_allows_exactly_its_inline_script_by_hash(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    policy = _directives(page.headers["content-security-policy"])
    (inline,) = INLINE_SCRIPT.findall(page.text)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert policy["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '"validatorUrl": null' in inline


async def test_the_redoc_page_runs_no_inline_script(client: httpx.AsyncClient) -> None:
    page = await client.get("/redoc")
    policy = _directives(page.headers["content-security-policy"])
    assert INLINE_SCRIPT.findall(page.text) == []
    assert policy["script-src"] == ["'self'"]
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/static/dashboard.css",
        "/static/htmx.min.js",
        "/static/favicon.svg",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/redoc/redoc.standalone.js",
        "/favicon.ico",
    ],
)
async def test_static_files_carry_a_csp_and_nosniff(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_vendored_ui_ships_with_its_licenses() -> None:
    for name in VENDORED:
        assert (STATIC_DIR / name).stat().st_size > 0, name


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path, EMBEDDED_WORKER="false") as server:
        yield server.base


def test_docs_and_redoc_render_in_chromium_with_every_other_host_blocked(served: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Browser tests need Debian's chromium at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    problems: list[str] = []
    elsewhere: list[str] = []

    def route(handled: object) -> None:
        request = handled.request  # type: ignore[attr-defined]
        if request.url.startswith(served + "/"):
            handled.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(request.url)
            handled.abort()  # type: ignore[attr-defined]

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            page.goto(f"{served}/docs")
            sync_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text(
                "Gigforge", timeout=30_000
            )
            sync_api.expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

            page.goto(f"{served}/redoc")
            sync_api.expect(page.locator(".api-info h1")).to_contain_text(
                "Gigforge", timeout=30_000
            )
            sync_api.expect(page.locator(".menu-content").first).to_be_visible()
        finally:
            browser.close()
    assert problems == []
    assert elsewhere == []
