"""The European Central Bank's euro foreign exchange reference rates, read-only, with the ECB
named as their source."""

from gigforge.integrations.ecb.connector import ECBConnector
from gigforge.integrations.ecb.spec import SPEC, ECBConfig

__all__ = ["SPEC", "ECBConfig", "ECBConnector"]
