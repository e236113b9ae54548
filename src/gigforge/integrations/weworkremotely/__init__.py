"""We Work Remotely: its public RSS job feeds, read-only, off until the user accepts its terms."""

from gigforge.integrations.weworkremotely.connector import WeWorkRemotelyConnector
from gigforge.integrations.weworkremotely.spec import SPEC, WeWorkRemotelyConfig

__all__ = ["SPEC", "WeWorkRemotelyConfig", "WeWorkRemotelyConnector"]
