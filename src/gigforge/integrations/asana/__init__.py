"""Asana: projects and tasks of synced jobs, through Asana's REST API."""

from gigforge.integrations.asana.connector import AsanaConnector
from gigforge.integrations.asana.spec import SPEC, AsanaConfig

__all__ = ["SPEC", "AsanaConfig", "AsanaConnector"]
