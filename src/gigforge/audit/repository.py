from gigforge.audit.models import AuditRecord
from gigforge.kit.repository import Repository


class AuditRepository(Repository[AuditRecord]):
    model = AuditRecord
