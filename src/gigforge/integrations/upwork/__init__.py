"""Upwork: marketplace job postings over Upwork's GraphQL API (OAuth 2.0)."""

from gigforge.integrations.upwork.connector import UpworkConnector
from gigforge.integrations.upwork.spec import SPEC, UpworkConfig

__all__ = ["SPEC", "UpworkConfig", "UpworkConnector"]
