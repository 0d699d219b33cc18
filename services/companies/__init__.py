"""Organisations (dealers, suppliers, client companies): found by name in chat, created on the spot in a form,
kept by admins (`/org` and its card's buttons, `/org_new`, `/org_set`, the panel's form). Every detail is checked
(an INN by its check digits, a KPP by its shape) before anything changes, and every change is audited
(`organisation.changed`: the field, what it was, what it became).

`details.py` an organisation's rows, details, credit and audit; `onec.py` 1C's organisations (`Контрагенты`);
`organisations.py` the admin's commands in chat and the panel (`Organisations`)."""

from services.companies.details import (
    CHANGED,
    CREDIT,
    DETAILS,
    KINDS,
    KPP,
    ORDER_PROCESS,
    PROMPT,
    BadDetails,
    BadValue,
    Credit,
    audit,
    checked,
    checked_all,
    create,
    create_organisation,
    credit,
    credit_of,
    directory_of,
    get,
    listed,
    offered,
    pending_orders,
    search,
    set_active,
    update_details,
)
from services.companies.onec import DEBT_ON, ONEC, FromOneC, debt_on, from_onec, onec_contragent
from services.companies.organisations import Organisations, parse_details

__all__ = [
    "CHANGED",
    "CREDIT",
    "DEBT_ON",
    "DETAILS",
    "KINDS",
    "KPP",
    "ONEC",
    "ORDER_PROCESS",
    "PROMPT",
    "BadDetails",
    "BadValue",
    "Credit",
    "FromOneC",
    "Organisations",
    "audit",
    "checked",
    "checked_all",
    "create",
    "create_organisation",
    "credit",
    "credit_of",
    "debt_on",
    "directory_of",
    "from_onec",
    "get",
    "listed",
    "offered",
    "onec_contragent",
    "parse_details",
    "pending_orders",
    "search",
    "set_active",
    "update_details",
]
