"""One log pipeline for the whole process.

Our own events go through structlog's native chain (no stdlib `LogRecord`: it is several times
cheaper, and the policy layer logs every third-party call). Records from uvicorn, SQLAlchemy or
a plain `logging.getLogger` call go through a stdlib handler whose formatter runs the same
processors, so every line gets the same request id, timestamp, format and, above all, the same
redaction.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

from gigforge.kit.redaction import redact, redact_processor
from gigforge.settings import Settings

_HANDLER_NAME = "gigforge"

# uvicorn installs its own handlers; removing them makes its records propagate to ours.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Follows `sys.stderr` as it is at each record rather than when logging was configured.

    Test runners and process supervisors swap `sys.stderr`; a handler holding the old object
    would write into a closed stream.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _redacted_repr(value: object) -> object:
    """JSON fallback for values redaction cannot see into; their repr may still hold secrets."""
    return redact(repr(value))


def _renderer(settings: Settings) -> Processor:
    if settings.effective_log_format == "json":
        return structlog.processors.JSONRenderer(default=_redacted_repr)
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


class _StderrLogger:
    """structlog's output end: one rendered line to `sys.stderr` as it is at each event."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _stderr_logger(*args: object) -> _StderrLogger:
    return _StderrLogger(str(args[0]) if args else "")


def _add_logger_name(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    name = getattr(logger, "name", None)
    if name:
        event_dict["logger"] = name
    return event_dict


def configure_logging(settings: Settings) -> None:
    """Safe to call again (tests, app factories): the previous handler is replaced, not stacked."""
    level = logging.getLevelNamesMapping()[settings.log_level]
    final: list[Processor] = [
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        # Last before rendering, so the formatted traceback is scrubbed as well.
        redact_processor,
        _renderer(settings),
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *final,
        ],
        logger_factory=_stderr_logger,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Not cached: reconfiguring (tests, a second app) must reach loggers made at import.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
        existing.close()
    root.addHandler(handler)
    root.setLevel(settings.log_level)

    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # The access middleware writes one richer record per request.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # taskiq logs every message it receives; the task engine logs what a task did.
    logging.getLogger("taskiq").setLevel(max(level, logging.WARNING))
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The policy layer writes one record per third-party call; httpx's own per-request lines
    # would repeat it, with full URLs.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
