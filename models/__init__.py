"""SQLModel tables and their schema family. Importing this package registers every table."""

from models.audit import AuditEvent, AuditHead
from models.base import utcnow
from models.catalog import ComponentType
from models.common import Page
from models.lots import Counter, Lot, LotAdjustment, Recall
from models.units import Unit
from models.users import ApiKey, Role, User

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuditHead",
    "ComponentType",
    "Counter",
    "Lot",
    "LotAdjustment",
    "Page",
    "Recall",
    "Role",
    "Unit",
    "User",
    "utcnow",
]
