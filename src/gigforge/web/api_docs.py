"""/docs (Swagger UI) and /redoc served from the package, so they work offline.

Both UIs are vendored under static/vendor/ (see the LICENSE files beside them). FastAPI's page
builders are used with our asset URLs; each page's one inline script or style is allowed by
its SHA-256 in the Content-Security-Policy rather than by 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse, Response

VENDOR = "/static/vendor"
SWAGGER_JS = f"{VENDOR}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = f"{VENDOR}/swagger-ui/swagger-ui.css"
REDOC_JS = f"{VENDOR}/redoc/redoc.standalone.js"
FAVICON = "/static/favicon.svg"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_INLINE_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def _hashes(pattern: re.Pattern[str], html: str) -> str:
    digests = (
        base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        for body in pattern.findall(html)
    )
    return " ".join(f"'sha256-{digest}'" for digest in digests)


def docs_policy(html: str) -> str:
    """A CSP admitting this page's own inline blocks by hash and nothing from another host.

    Both UIs set element styles from script and ReDoc adds its styled-components rules at run
    time, which hashes cannot name: style-src keeps 'unsafe-inline' (styles only, never
    scripts). ReDoc's search index runs in a worker it starts from a blob: URL.
    """
    script_hashes = _hashes(_INLINE_SCRIPT, html)
    return (
        f"default-src 'self'; script-src 'self' {script_hashes}".rstrip()
        + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def _page(html: str) -> Response:
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": docs_policy(html),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def docs_router(*, title: str, openapi_url: str) -> APIRouter:
    swagger = bytes(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=FAVICON,
            # Otherwise a page served from a public host shows a badge fetched from
            # validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    ).decode()
    redoc = bytes(
        get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - API reference",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        ).body
    ).decode()
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> Response:
        return _page(swagger)

    @router.get("/redoc")
    async def redoc_ui() -> Response:
        return _page(redoc)

    return router


__all__ = ["docs_policy", "docs_router"]
