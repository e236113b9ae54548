"""Remotive: the public remote jobs API, read-only, with attribution kept."""

from gigforge.integrations.remotive.connector import RemotiveConnector
from gigforge.integrations.remotive.spec import SPEC, RemotiveConfig

__all__ = ["SPEC", "RemotiveConfig", "RemotiveConnector"]
