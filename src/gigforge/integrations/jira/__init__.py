"""Jira Cloud: Gigforge projects as epics and their tasks as issues, over Jira's REST API v3."""

from gigforge.integrations.jira.connector import JiraConnector
from gigforge.integrations.jira.spec import SPEC, JiraConfig

__all__ = ["SPEC", "JiraConfig", "JiraConnector"]
