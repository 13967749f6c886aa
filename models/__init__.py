"""SQLModel tables and their schema family. Importing this package registers every table."""

from models.audit import AuditEvent, AuditHead
from models.base import utcnow
from models.batches import Batch, BatchFlag, BomLine
from models.catalog import ComponentType
from models.common import Page
from models.labels import Label, LabelTemplate, Printer, PrintJob
from models.lots import Counter, Lot, LotAdjustment, Recall
from models.people import Badge, EnrolmentCode, Station, UserSession
from models.scans import Scan
from models.units import AssemblyPart, Unit
from models.users import ApiKey, Role, User

__all__ = [
    "ApiKey",
    "AssemblyPart",
    "AuditEvent",
    "AuditHead",
    "Badge",
    "Batch",
    "BatchFlag",
    "BomLine",
    "ComponentType",
    "Counter",
    "EnrolmentCode",
    "Label",
    "LabelTemplate",
    "Lot",
    "LotAdjustment",
    "Page",
    "PrintJob",
    "Printer",
    "Recall",
    "Role",
    "Scan",
    "Station",
    "Unit",
    "User",
    "UserSession",
    "utcnow",
]
