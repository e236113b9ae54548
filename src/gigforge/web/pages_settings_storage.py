"""/settings/storage: the file storage the operator configured, and a round-trip test of it
(admins only: it names the bucket and writes to it)."""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.responses import Response

from gigforge.storage import Storage
from gigforge.storage.selfcheck import CheckReport, round_trip
from gigforge.web.pages_settings_base import PostingPage, ReadingPage, SettingsPage
from gigforge.web.rendering import DashboardRoute

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

BACKEND_NAMES = {
    "local": "A folder on this server",
    "s3": "Amazon S3 (or an S3-compatible server)",
    "gcs": "Google Cloud Storage",
    "b2": "Backblaze B2",
}


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


async def _page(
    page: SettingsPage, *, report: CheckReport | None = None, status_code: int = status.HTTP_200_OK
) -> Response:
    storage: Storage = page.request.app.state.storage
    described = storage.description
    settings = page.settings
    facts: list[tuple[str, str, bool]] = [
        ("Backend", BACKEND_NAMES.get(described.backend, described.backend), False),
        ("Location", described.location, True),
    ]
    for label, value in (
        ("Bucket", described.bucket),
        ("Region", described.region),
        ("Endpoint", described.endpoint),
        ("Prefix", described.prefix),
    ):
        if value:
            facts.append((label, value, True))
    facts += [
        ("Encryption at rest", described.encryption, False),
        ("Download links last", f"{settings.storage_signed_url_seconds} seconds", False),
    ]
    if described.backend != "local":
        facts.append(
            (
                "Uploads in parts above",
                f"{_mib(settings.storage_multipart_threshold_bytes)} "
                f"(parts of {_mib(settings.storage_part_size_bytes)})",
                False,
            )
        )
    return await page.render(
        "settings_storage.html", {"facts": facts, "report": report}, status_code=status_code
    )


@router.get("/settings/storage")
async def storage_page(page: ReadingPage) -> Response:
    if not page.viewer.principal.is_admin:
        return page.forbidden("see the file storage settings")
    return await _page(page)


@router.post("/settings/storage/test")
async def test_storage(page: PostingPage) -> Response:
    if not page.viewer.principal.is_admin:
        return page.forbidden("test the file storage")
    # The round trip talks to the storage service: end the request's transaction first
    # (it has only read the viewer) so no database transaction stays open across it.
    await page.session.commit()
    report = await round_trip(page.request.app.state.storage)
    return await _page(page, report=report)
