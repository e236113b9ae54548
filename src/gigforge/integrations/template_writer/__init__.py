"""Drafts from Jinja2 templates: the always-available, not-AI last resort for writing."""

from gigforge.integrations.template_writer.connector import TemplateWriterConnector
from gigforge.integrations.template_writer.spec import (
    SPEC,
    TEMPLATE_FINISH_REASON,
    TemplateWriterConfig,
)

__all__ = ["SPEC", "TEMPLATE_FINISH_REASON", "TemplateWriterConfig", "TemplateWriterConnector"]
