"""The dashboard: server-rendered pages on the same services as the API, plus static assets.

`create_app` includes `router` and mounts `static_files()` at `STATIC_PATH`; nothing here
needs a build step or loads anything from another origin.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gigforge.web.pages_account import router as _account_router
from gigforge.web.pages_admin_tasks import router as _admin_tasks_router
from gigforge.web.pages_agents import router as _agents_router
from gigforge.web.pages_apps import router as _apps_router
from gigforge.web.pages_auth import router as _auth_router
from gigforge.web.pages_certifications import router as _certifications_router
from gigforge.web.pages_connections import router as _connections_router
from gigforge.web.pages_import import router as _import_router
from gigforge.web.pages_jobs import router as _jobs_router
from gigforge.web.pages_opportunities import router as _opportunities_router
from gigforge.web.pages_payments import router as _payments_router
from gigforge.web.pages_proposals import router as _proposals_router
from gigforge.web.pages_settings import router as _settings_router
from gigforge.web.pages_settings_audit import router as _settings_audit_router
from gigforge.web.pages_settings_auto_approve import router as _settings_auto_approve_router
from gigforge.web.pages_settings_keys import router as _settings_keys_router
from gigforge.web.pages_settings_storage import router as _settings_storage_router
from gigforge.web.pages_usage import router as _usage_router
from gigforge.web.pages_webhooks import router as _webhooks_router
from gigforge.web.rendering import CONTENT_SECURITY_POLICY

STATIC_PATH = "/static"
STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
router.include_router(_auth_router)
router.include_router(_account_router)
router.include_router(_import_router)  # before /opportunities/{id}
router.include_router(_opportunities_router)
router.include_router(_proposals_router)
router.include_router(_jobs_router)
router.include_router(_payments_router)
router.include_router(_agents_router)
router.include_router(_connections_router)
router.include_router(_usage_router)
router.include_router(_settings_router)
router.include_router(_settings_auto_approve_router)
router.include_router(_settings_keys_router)
router.include_router(_webhooks_router)
router.include_router(_settings_storage_router)
router.include_router(_settings_audit_router)
router.include_router(_admin_tasks_router)
router.include_router(_certifications_router)
router.include_router(_apps_router)


def _harden_asset(response: Response) -> Response:
    """An asset opened on its own (the SVG icon, say) is a document too: the same policy as
    the pages, and no content sniffing."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class HardenedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        return _harden_asset(await super().get_response(path, scope))


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico on pages that name no icon, such as the API's JSON."""
    return _harden_asset(FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml"))


def static_files() -> StaticFiles:
    return HardenedStaticFiles(directory=STATIC_DIR)


__all__ = ["STATIC_DIR", "STATIC_PATH", "router", "static_files"]
