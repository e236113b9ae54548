"""Remote OK: the public JSON feed of remote jobs, read-only, with attribution kept."""

from gigforge.integrations.remoteok.connector import RemoteOKConnector
from gigforge.integrations.remoteok.spec import SPEC, RemoteOKConfig

__all__ = ["SPEC", "RemoteOKConfig", "RemoteOKConnector"]
