"""Fixtures for tests that reconfigure process-wide logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

_TOUCHED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy.engine")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back so other tests see none of it."""
    root = logging.getLogger()
    root_handlers = list(root.handlers)
    root_level = root.level
    others = [
        (logger, list(logger.handlers), logger.level, logger.propagate)
        for logger in map(logging.getLogger, _TOUCHED_LOGGERS)
    ]
    structlog_config = structlog.get_config() if structlog.is_configured() else None
    yield
    for handler in list(root.handlers):
        if handler.get_name() == "gigforge" and handler not in root_handlers:
            root.removeHandler(handler)
    for handler in root_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(root_level)
    for logger, handlers, level, propagate in others:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.reset_defaults()
    if structlog_config is not None:
        structlog.configure(**structlog_config)
