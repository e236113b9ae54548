"""The old address of `gigforge.kit.db`, kept only until the modules the lead is rewriting move.

Import from `gigforge.kit.db`. import-linter allows this alias only for the listed modules.
"""

from gigforge.kit.db import Base as Base
from gigforge.kit.db import Database as Database
from gigforge.kit.db import IdMixin as IdMixin
from gigforge.kit.db import TimestampMixin as TimestampMixin
from gigforge.kit.db import create_engine as create_engine
from gigforge.kit.db import dialect_insert as dialect_insert
from gigforge.kit.db import json_dumps as json_dumps
from gigforge.kit.db import side_session as side_session
from gigforge.kit.db import unit_of_work as unit_of_work
