"""Freelance.ru: its public RSS feeds of new projects, read-only, with attribution kept."""

from gigforge.integrations.freelanceru.connector import FreelanceRuConnector
from gigforge.integrations.freelanceru.spec import SPEC, FreelanceRuConfig

__all__ = ["SPEC", "FreelanceRuConfig", "FreelanceRuConnector"]
