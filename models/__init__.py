"""SQLModel tables and their schema family. Importing this package registers every table."""

from models.audit import AuditEvent, AuditHead
from models.base import utcnow
from models.common import Page
from models.users import ApiKey, Role, User

__all__ = ["ApiKey", "AuditEvent", "AuditHead", "Page", "Role", "User", "utcnow"]
