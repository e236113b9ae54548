"""Job alert emails: the alerts Fiverr, Guru, PeoplePerHour, Toptal and Kwork send, read from a
mailbox folder over IMAP and turned into listings."""

from gigforge.integrations.imap_alerts.connector import IMAPAlertsConnector
from gigforge.integrations.imap_alerts.spec import SPEC, IMAPAlertsConfig

__all__ = ["SPEC", "IMAPAlertsConfig", "IMAPAlertsConnector"]
