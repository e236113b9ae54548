# ruff: noqa: RUF001 - the fixtures are Russian, as Freelance.ru's projects are.
"""A local Freelance.ru for tests and demo mode.

It serves the RSS feeds at their real paths, `/rss/projects.xml` and the per-specialisation
`/rss/feed/list/<spec>` feeds, as RSS 2.0 encoded in windows-1251 and declared so in both the
XML declaration and the Content-Type, as Freelance.ru's feeds are. Faults are plain-text pages
and 429s carry `Retry-After`. `corruption` serves a feed cut off mid-item, an HTML page instead
of a feed, or windows-1251 bytes mislabelled as UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from xml.sax.saxutils import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults
from gigforge.integrations.freelanceru.spec import ALL_PROJECTS_PATH, SITE_ENCODING, SITE_URL

Corruption = Literal["truncated", "html", "mislabelled"]


def _item(number: int, slug: str, title: str, **elements: str) -> dict[str, str]:
    link = f"{SITE_URL}/projects/{slug}-{number}.html"
    return {"title": title, "link": link, "guid": link, **elements}


def seed_items() -> list[dict[str, str]]:
    """Newest first: a full item, one with hostile HTML, one with only the required elements,
    an hourly rate, and a negotiable budget."""
    return [
        _item(
            1_482_001,
            "telegram-bot-dlya-zapisi",
            "Разработать Telegram-бота на Python",
            description=(
                "Нужен бот для записи клиентов в салон.<br>Бюджет: 15 000 руб.<br>Срок: 2 недели."
            ),
            pubDate="Mon, 05 Jan 2026 13:00:00 +0300",
            category="Программирование",
            author="Салон «Ромашка»",
        ),
        _item(
            1_482_002,
            "sait-vizitka",
            "<script>alert(1)</script>Сайт-визитка <b>срочно</b>",
            description=(
                '<p onclick="steal()">Лендинг на Tilda.</p><script>alert(2)</script>'
                '<a href="javascript:alert(3)">ТЗ</a> Оплата от 10 000 до 20 000 руб.'
            ),
            pubDate="Sun, 04 Jan 2026 13:00:00 +0300",
            category="Веб-разработка",
        ),
        _item(1_482_003, "napisat-tekst", "Написать текст для страницы"),
        _item(
            1_482_004,
            "perevod-dokumentacii",
            "Перевод технической документации",
            description="Английский - русский, 40 страниц. Ставка 500 руб./час.",
            pubDate="Thu, 01 Jan 2026 13:00:00 +0300",
            category="Переводы",
        ),
        _item(
            1_482_005,
            "logotip-dlya-kofeyni",
            "Логотип для кофейни",
            description="Бюджет: договорная.",
            pubDate="Wed, 31 Dec 2025 13:00:00 +0300",
            category="Дизайн",
        ),
    ]


def render_feed(items: list[dict[str, str]], *, encoding: str = SITE_ENCODING) -> str:
    """RSS 2.0 as Freelance.ru publishes it, declaring `encoding`."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>Freelance.ru: новые проекты</title><link>{SITE_URL}/</link>",
        "<description>Новые проекты на Freelance.ru</description><language>ru</language>",
    ]
    for item in items:
        parts.append("<item>")
        parts.extend(
            f"<{name}>{escape(item[name])}</{name}>"
            for name in ("title", "link", "guid", "pubDate", "category", "author")
            if name in item
        )
        if "description" in item:
            parts.append(f"<description><![CDATA[{item['description']}]]></description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


@dataclass
class FreelanceRuSandbox:
    """State a test can read and turn: the items served, the paths asked for, the faults."""

    faults: Faults
    items: list[dict[str, str]]
    corruption: Corruption | None = None
    paths: list[str] = field(default_factory=list)
    app: ASGIApp = field(init=False)

    def __post_init__(self) -> None:
        routes = [
            Route(ALL_PROJECTS_PATH, self._feed, methods=["GET"]),
            Route("/rss/feed/list/{spec}", self._feed, methods=["GET"]),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, _text_error)

    async def _feed(self, request: Request) -> Response:
        self.paths.append(request.url.path)
        if self.corruption == "html":
            return Response("<html><body>Технические работы</body></html>", media_type="text/html")
        if self.corruption == "mislabelled":
            body = render_feed(self.items, encoding="utf-8").encode(SITE_ENCODING)
            return Response(body, media_type="application/rss+xml; charset=utf-8")
        body = render_feed(self.items).encode(SITE_ENCODING)
        if self.corruption == "truncated":
            body = body[: int(len(body) * 0.6)]
        return Response(body, media_type=f"application/rss+xml; charset={SITE_ENCODING}")


def _text_error(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


def create_sandbox(*, faults: Faults | None = None) -> FreelanceRuSandbox:
    return FreelanceRuSandbox(faults=faults or Faults(), items=seed_items())
