"""Tables. All state lives here: cases, tasks, timers, the outbox, the audit log, half-filled forms.

One module a domain, each saying why its tables are there:
- base: the declarative `Base`, its naming convention, and the column types every module uses (`UTCDateTime`,
  `Json`, `status_type`, `status_is`);
- people: users, their roles, invites, organisations (`Company`);
- cases: process definitions, cases, tasks, work periods, task cards, timers, files, the audit log, comments;
- delivery: the outbox and the inbox;
- settings: runtime settings, notification channels and templates;
- panel: the web panel's sessions and wrong-token throttle;
- leads: web forms' leads and their rate buckets;
- catalogue: the 1C catalogue, the exchange's sessions, the portal's cart, order exports and 1C's documents.

Import the models from here (`from db.models import Case`), not from the modules: this module imports every one of
them, so each relationship finds the class it names (by name, in the registry) whatever was imported first."""

from db.models.base import NAMING, Base, Json, UTCDateTime, status_is, status_type
from db.models.cases import (
    AuditEntry,
    Case,
    CaseSearch,
    Comment,
    Definition,
    StoredFile,
    Task,
    TaskCard,
    Timer,
    WorkPeriod,
)
from db.models.catalogue import (
    CartLine,
    CatalogGroup,
    CatalogImport,
    CatalogPrice,
    CatalogPriceType,
    CatalogProduct,
    CatalogProperty,
    CatalogStock,
    CatalogWarehouse,
    ExchangeSession,
    OneCDocument,
    OrderExport,
)
from db.models.delivery import InboxUpdate, Outbox
from db.models.leads import Lead, LeadBucket
from db.models.panel import PanelLoginFailure, PanelSession
from db.models.people import Company, Invite, User, UserRole
from db.models.settings import ChannelSetting, MessageTemplate, Setting

__all__ = [
    "NAMING",
    "AuditEntry",
    "Base",
    "CartLine",
    "Case",
    "CaseSearch",
    "CatalogGroup",
    "CatalogImport",
    "CatalogPrice",
    "CatalogPriceType",
    "CatalogProduct",
    "CatalogProperty",
    "CatalogStock",
    "CatalogWarehouse",
    "ChannelSetting",
    "Comment",
    "Company",
    "Definition",
    "ExchangeSession",
    "InboxUpdate",
    "Invite",
    "Json",
    "Lead",
    "LeadBucket",
    "MessageTemplate",
    "OneCDocument",
    "OrderExport",
    "Outbox",
    "PanelLoginFailure",
    "PanelSession",
    "Setting",
    "StoredFile",
    "Task",
    "TaskCard",
    "Timer",
    "UTCDateTime",
    "User",
    "UserRole",
    "WorkPeriod",
    "status_is",
    "status_type",
]
