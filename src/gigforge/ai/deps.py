"""The process's model router, for endpoints and dashboard pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gigforge.ai.router import Router


def process_router(request: Request) -> Router:
    """The router the app built with its process (`app.state.router`)."""
    router: Router = request.app.state.router
    return router


RouterDep = Annotated[Router, Depends(process_router)]
