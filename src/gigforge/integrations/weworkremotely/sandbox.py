"""A local We Work Remotely for tests and demo mode.

It serves the RSS feeds at their real paths: `/remote-jobs.rss` with every item and
`/categories/<slug>.rss` with one category's, as RSS 2.0 with We Work Remotely's own item
elements (`region`, `country`, `skills`, `type`, `expires_at`, `media:content`). An unknown
category is a 404 HTML page, as on the site; faults are plain-text pages, 429s carry
`Retry-After`. `corruption` serves a feed cut off mid-item, an HTML page instead of a feed, or
Latin-1 bytes in a feed that declares UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults
from gigforge.integrations.weworkremotely.spec import ALL_JOBS_PATH, CATEGORY_PATH, SITE_URL

Corruption = Literal["truncated", "html", "latin1"]

CATEGORIES = {
    "remote-back-end-programming-jobs": "Back-End Programming",
    "remote-full-stack-programming-jobs": "Full-Stack Programming",
    "remote-design-jobs": "Design",
    "remote-customer-support-jobs": "Customer Support",
}
_ELEMENTS = ("title", "region", "country", "state", "skills", "category", "type")


def _item(slug: str, title: str, **elements: str) -> dict[str, str]:
    link = f"{SITE_URL}/remote-jobs/{slug}"
    return {"title": title, "link": link, "guid": link, **elements}


def seed_items() -> list[dict[str, str]]:
    """Newest first: a full item, one with hostile HTML, one with only the required elements,
    and older ones in other categories."""
    return [
        _item(
            "acme-cafe-senior-python-developer",
            "Acme Café: Senior Python Developer",
            region="Anywhere in the World",
            country="Worldwide",
            skills="Python, Django, PostgreSQL",
            category="Back-End Programming",
            type="Full-Time",
            description="<p>Build our <strong>billing</strong> service.</p>",
            pubDate="Mon, 05 Jan 2026 10:00:00 +0000",
            expires_at="Wed, 04 Feb 2026 10:00:00 +0000",
            media_content="https://wwr-pro.s3.amazonaws.com/logos/acme.png",
        ),
        _item(
            "evil-corp-backend-engineer",
            '<b>Evil</b> Corp: Backend <img src=x onerror="alert(1)">Engineer',
            region="USA Only",
            skills="Go, <script>alert(2)</script>",
            category="Back-End Programming",
            type="Contract",
            description=(
                '<p onclick="steal()">Hack on our API.</p><script>alert(3)</script>'
                '<a href="javascript:alert(4)">apply</a><iframe src="https://evil.test"></iframe>'
            ),
            pubDate="Sun, 04 Jan 2026 10:00:00 +0000",
        ),
        _item("quiet-support-engineer", "Support Engineer"),
        _item(
            "globex-full-stack-developer",
            "Globex: Full-Stack Developer",
            region="Europe Only",
            skills="TypeScript, React",
            category="Full-Stack Programming",
            type="Full-Time",
            description="<p>React and Node.</p>",
            pubDate="Thu, 01 Jan 2026 10:00:00 +0000",
        ),
        _item(
            "initech-product-designer",
            "Initech: Product Designer",
            category="Design",
            type="Full-Time",
            description="<p>Figma all day.</p>",
            pubDate="Wed, 31 Dec 2025 10:00:00 +0000",
        ),
    ]


def render_feed(items: list[dict[str, str]], *, title: str) -> str:
    """RSS 2.0 in the shape We Work Remotely publishes."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:media="http://search.yahoo.com/mrss/">',
        f"<channel><title>{escape(title)}</title><link>{SITE_URL}/</link>",
        "<description>Remote jobs</description><language>en-US</language><ttl>60</ttl>",
    ]
    for item in items:
        parts.append("<item>")
        parts.extend(f"<{name}>{escape(item[name])}</{name}>" for name in _ELEMENTS if name in item)
        if "description" in item:
            parts.append(f"<description><![CDATA[{item['description']}]]></description>")
        parts.extend(
            f"<{name}>{escape(item[name])}</{name}>"
            for name in ("pubDate", "expires_at")
            if name in item
        )
        parts.append(f"<guid>{escape(item['guid'])}</guid><link>{escape(item['link'])}</link>")
        if "media_content" in item:
            parts.append(
                f'<media:content url={quoteattr(item["media_content"])} type="image/png"/>'
            )
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


@dataclass
class WeWorkRemotelySandbox:
    """State a test can read and turn: the items served, the paths asked for, the faults."""

    faults: Faults
    items: list[dict[str, str]]
    corruption: Corruption | None = None
    paths: list[str] = field(default_factory=list)
    app: ASGIApp = field(init=False)

    def __post_init__(self) -> None:
        routes = [
            Route(ALL_JOBS_PATH, self._all_jobs, methods=["GET"]),
            Route(CATEGORY_PATH.format(slug="{slug}"), self._category, methods=["GET"]),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, _text_error)

    async def _all_jobs(self, request: Request) -> Response:
        self.paths.append(request.url.path)
        return self._feed(self.items, title="We Work Remotely: Remote jobs")

    async def _category(self, request: Request) -> Response:
        self.paths.append(request.url.path)
        category = CATEGORIES.get(request.path_params["slug"])
        if category is None:
            return Response("<html><body>Page not found</body></html>", 404, media_type="text/html")
        items = [item for item in self.items if item.get("category") == category]
        return self._feed(items, title=f"We Work Remotely: {category}")

    def _feed(self, items: list[dict[str, str]], *, title: str) -> Response:
        body = render_feed(items, title=title)
        if self.corruption == "truncated":
            return _rss(body.encode()[: int(len(body) * 0.6)])
        if self.corruption == "html":
            return Response(
                "<html><body><h1>Maintenance</h1></body></html>", media_type="text/html"
            )
        if self.corruption == "latin1":
            return _rss(body.encode("latin-1", errors="replace"))
        return _rss(body.encode())


def _rss(body: bytes) -> Response:
    return Response(body, media_type="application/rss+xml; charset=utf-8")


def _text_error(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


def create_sandbox(*, faults: Faults | None = None) -> WeWorkRemotelySandbox:
    return WeWorkRemotelySandbox(faults=faults or Faults(), items=seed_items())
