"""Salesforce: Contacts, Accounts and Opportunities kept in step through the REST API."""

from gigforge.integrations.salesforce.connector import MissingExternalIdField, SalesforceConnector
from gigforge.integrations.salesforce.mapping import UpsertItem
from gigforge.integrations.salesforce.spec import SPEC, SalesforceConfig, my_domain_url

__all__ = [
    "SPEC",
    "MissingExternalIdField",
    "SalesforceConfig",
    "SalesforceConnector",
    "UpsertItem",
    "my_domain_url",
]
