"""Keys as people read them: roles, kinds of organisation and case statuses named in the reader's language, a key
nobody has named shown as words, a list's entry by its number."""

from __future__ import annotations

from flows.i18n import _
from flows.status import CaseStatus
from flows.values import number_sign

ORGANISATION_KINDS = {"dealer": _("Dealer"), "supplier": _("Supplier"), "client": _("Client")}

# Roles are keys in the definitions, which give them no titles yet; the library's roles are named here, for
# the chat and the panel alike (a person must never read «shop_manager»).
ROLES = {
    "admin": _("Administrator"),
    "representative": _("Representative"),
    "rep_service": _("Representative's service engineer"),
    "regional_rep": _("Regional representative"),
    "dealer_manager": _("Dealer's manager"),
    "dealer_service": _("Dealer's service engineer"),
    "dealer_staff": _("Dealer's employee"),
    "shop_manager": _("Shop manager"),
    "shop_admin": _("Shop administrator"),
    "director": _("Director"),
    "service_manager": _("Service centre manager"),
    "warehouse_head": _("Head of warehouse"),
    "accountant": _("Accountant"),
    "account_manager": _("Account manager"),
    "general_director": _("General director"),
    "warehouse_worker": _("Warehouse worker"),
    "lawyer": _("Lawyer"),
    "sales_manager": _("Sales manager"),
    "commercial_director": _("Commercial director"),
    "deputy_director": _("Deputy director"),
    "production_head_1": _("Head of production 1"),
    "production_head_2": _("Head of production 2"),
    "security": _("Security"),
    "finance_director": _("Finance director"),
    "logistics_head": _("Head of logistics"),
    "logistics": _("Logistics"),
    "operator": _("Operator"),
    "production_manager": _("Production manager"),
    "security_head": _("Head of security"),
}

# A case's status as people read it, the one word for it everywhere: the chat's card («Статус: Завершено»), an
# export's column, a digest's «→ Отменено», the admin panel's list, card and filter (admin/words.py).
STATUS_WORDS: dict[str, str] = {
    CaseStatus.DRAFT: _("Draft"),
    CaseStatus.ACTIVE: _("In progress"),
    CaseStatus.DONE: _("Finished"),
    CaseStatus.CANCELLED: _("Cancelled"),
}


def words_of_key(key: str) -> str:
    """A key nobody has named yet, shown as words rather than as «some_key»."""
    return key.replace("_", " ").replace(".", " ").strip().capitalize()


def entry_name(label: str, index: int, count: int, lang: str | None = "ru") -> str:
    """A list's entry as a person reads it: «Позиции №2» among several («Watch #2» in English), «Позиции» when it
    is the only one."""
    return f"{label} {number_sign(lang)}{index + 1}" if count > 1 else label
