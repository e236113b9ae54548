"""HubSpot: contacts, companies and deals through the CRM API, with signed webhooks."""

from gigforge.integrations.hubspot.connector import HubSpotConnector
from gigforge.integrations.hubspot.spec import SPEC, HubSpotConfig

__all__ = ["SPEC", "HubSpotConfig", "HubSpotConnector"]
