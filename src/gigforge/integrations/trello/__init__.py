"""Trello: boards and cards as the sync engine's projects and tasks, through the REST API."""

from gigforge.integrations.trello.connector import TrelloConnector
from gigforge.integrations.trello.spec import SPEC, TrelloConfig

__all__ = ["SPEC", "TrelloConfig", "TrelloConnector"]
