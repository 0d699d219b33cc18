"""Typed callback data. Only short ids travel in buttons; everything is re-checked on the server."""

from __future__ import annotations

from enum import Enum
from typing import Any, Self

from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData


class TaskCb(CallbackData, prefix="t"):
    action: str  # claim | out (arg = outcome) | work | resume (a draft) | discard (a draft) | card (send it again)
    # | noparts (a reclamation's parts task done without the products in the cart: `portal_view.parts_left_question`)
    task_id: int
    arg: str = ""


class FormCb(CallbackData, prefix="f"):
    # pick | skip | keep | back | files | yes | no | confirm | edit | field | cancel | later | resume; a list's entries:
    # entry (pick one) | sub (correct its field, or all of it) | add | drop | all (the whole list again); kept (arg:
    # use | new — the file the person sent earlier, offered at a question for a file)
    action: str
    task_id: int
    arg: str = ""
    step: int = -1  # how many answers the form had when the button was sent: older buttons are stale


class StartCb(CallbackData, prefix="s"):
    process: str
    fresh: int = 0  # 1: drop the unfinished request of this process and start anew
    # The «Which process?» list the button is on (its outbox row): a press on a list chosen from already, or on one a
    # newer list replaced, starts nothing (`services.menu.Pick`). 0: «Start anew», or a list sent before this was kept.
    picker: int = 0

    @classmethod
    def unpack(cls, value: str) -> Self:
        # A list sent before `picker` was added is still in people's chats: its buttons carry two parts.
        if value.count(cls.__separator__) == 2:
            value += cls.__separator__ + "0"
        return super().unpack(value)


class CaseCb(CallbackData, prefix="c"):
    # show | cancel (arg = the stage the card showed) | cancel_yes | keep | move (arg = stage) | files (send every
    # file of the case) | diagram | mute | unmute | comment | note (an internal one) | reply (arg = the comment
    # answered) | thread (every comment)
    action: str
    case_id: int
    arg: str = ""


class MenuCb(CallbackData, prefix="m"):
    action: str  # tasks | start | cases
    page: int = 0


class AttentionCb(CallbackData, prefix="a"):
    action: str  # retry
    case_id: int


class ItemCb(CallbackData, prefix="i"):
    action: str  # move (arg = the item's stage) | edit (arg = its field) | history | card (send the item's card here)
    case_id: int
    list: str
    index: int
    arg: str = ""


class DiagramCb(CallbackData, prefix="d"):
    process: str  # `/diagram`: the process to draw


class EscalationCb(CallbackData, prefix="e"):
    # reassign | to (arg = user id) | extend | days (arg = working days) | take | keep (arg = the picker's own row)
    action: str
    task_id: int
    holder: int = 0  # who held the task when the button was sent (0: the role's pool): later, it is stale
    arg: int = 0


class OrgCb(CallbackData, prefix="o"):
    # show | invite (arg = an external role: a link for this organisation) | edit (arg = a detail: its value is
    # the admin's next message) | reps (choose the regional representative) | rep (arg = user id, 0: nobody) |
    # off | on (deactivate, reactivate) | new (arg = kind: its name is the next message; no arg: choose a kind)
    action: str
    org_id: int = 0
    arg: str = ""


class ApprovalCb(CallbackData, prefix="p"):
    action: str  # org (choose the organisation) | role (approve with it) | reject
    person_id: int
    org_id: int = 0
    role: str = ""


class DigestCb(CallbackData, prefix="g"):
    action: str  # now | on | off | at (arg = HHMM: no colon, the separator) | list (arg = group) | xlsx (arg = group)
    arg: str = ""
    ref: int = 0  # the settings' own message (its outbox row): a change shows in it, not in a new one
    # list/xlsx: the moment the digest's moves count from (µs since the epoch), so a group's list covers the period
    # its digest's heading said — the subscription keeps only the last scheduled digest's, not that of each sent
    since: int = 0


class ExportCb(CallbackData, prefix="x"):
    process: str  # `/export`: the process whose cases to export (admins only; re-checked by the service)


class LoadCb(CallbackData, prefix="ld"):
    digest: str  # of the definition checked (`services.library.Upload.digest`)
    ref: int = 0  # the outbox row of the message it sits on: loaded, that message says so and loses the button


class RoleCb(CallbackData, prefix="r"):
    # p (show the person's roles) | t (toggle arg = role) | ask_revoke (asks) | revoke (closes their access)
    # | restore (a revoked person's access back) | page (of /users: user_id = the page)
    action: str
    user_id: int
    arg: str = ""
    ref: int = 0  # the outbox row of the message pressed: the answer edits it (0: a new message)


class InviteCb(CallbackData, prefix="iv"):
    """`/invite` alone: the invite being put together travels in its buttons (nothing is stored until «Create
    link»). action: r (toggle the role at `arg` among `Team.own_roles`) | u (uses = arg) | a (toggle admin) | go
    (make the link)."""

    action: str
    arg: int = 0
    roles: str = ""  # the roles chosen: a bit per role of `Team.own_roles`, hex (keys would not fit 64 bytes)
    uses: int = 1
    admin: int = 0
    of: str = ""  # which list of roles the bits are over (`team_view.roles_mark`): another list makes them stale
    ref: int = 0  # the outbox row of the message pressed: the answer edits it


class AdminCb(CallbackData, prefix="ad"):
    # an admin's inline commands: show (a case's admin card) | task (whom to give task_id to) | to (arg = user id)
    # | cancel (ask the reason) | retry (the failed step)
    action: str
    case_id: int = 0
    task_id: int = 0
    arg: int = 0


class ProductCb(CallbackData, prefix="k"):
    action: str  # card | add (one more into the cart) | reclaim (file a reclamation on it)
    product_id: int


class CartCb(CallbackData, prefix="b"):
    action: str  # show | plus | minus (arg = product id) | order | parts (arg = the reclamation's task id) | clear
    # | excel (the whole catalogue as the dealer sees it, as a file) | repeat (arg = a rejected or cancelled order
    # request: its positions into the cart); plus, minus and clear: an older cart's buttons
    arg: str = ""
    version: str = ""  # order: the cart as the message pressed shows it (`CartView.version`)
    ref: int = 0  # order and parts: the cart message's outbox row, whose buttons go once the cart has gone on


class CartEditCb(CallbackData, prefix="be"):
    """A button that changes the cart and shows it in the same message: plus | minus | clear (product_id 0) | drop
    (product_id: the cart's line, whose product is gone from the catalogue and has no id to name).
    `ref`: the cart message's outbox row, which the edit goes to — checked against the message pressed;
    `version`: the cart as that message shows it (`CartView.version`), so an older cart message is not revived."""

    action: str
    product_id: int
    ref: int
    version: str = ""


class ReclamationsCb(CallbackData, prefix="l"):
    page: int


class OrdersCb(CallbackData, prefix="q"):
    page: int


class FiguresCb(CallbackData, prefix="fig"):
    action: str  # show (a period's chart) | xlsx (its Excel file)
    period: str  # month | last_month | quarter | year
    start: str = ""  # the period's first day as YYYYMMDD: a button pressed later means the period it was shown for


_FIELD_COUNTS: dict[type[CallbackData], int] = {}


def pack(kind: type[CallbackData], *values: str | int | None) -> str:
    """`kind(**fields).pack()` without building the model (a card's buttons are packed on every step): the values
    in the fields' order, every field given (defaults too). The same string, refused for the same reasons."""
    fields = _FIELD_COUNTS.get(kind)
    if fields is None:
        # pydantic's `model_fields` is a property that costs more than the packing: read once per kind.
        fields = _FIELD_COUNTS[kind] = len(kind.model_fields)
    if len(values) != fields:
        raise TypeError(f"{kind.__name__} takes {fields} values, {len(values)} given")
    separator = kind.__separator__
    parts = [kind.__prefix__]
    for value in values:
        if value is None:
            encoded = ""
        elif isinstance(value, Enum):  # by its value, as aiogram packs it (a str-Enum's str() is its name)
            encoded = str(value.value)
        elif isinstance(value, bool):
            encoded = str(int(value))
        else:
            encoded = str(value)
        if separator in encoded:
            raise ValueError(f"Separator symbol {separator!r} can not be used in value {encoded!r}")
        parts.append(encoded)
    packed = separator.join(parts)
    if len(packed.encode()) > MAX_CALLBACK_LENGTH:
        raise ValueError(f"Resulted callback data is too long! len({packed!r}.encode()) > {MAX_CALLBACK_LENGTH}")
    return packed


def button_label(text: str, limit: int = 60) -> str:
    """A button's text within `limit` characters (Telegram shows a long one cut, mid-word and without a sign), an
    ellipsis saying there was more."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def button(text: str, callback_data: str) -> dict[str, Any]:
    """A callback button as `InlineKeyboardButton(text=…, callback_data=…).model_dump(exclude_none=True)` gives it."""
    return {"text": text, "callback_data": callback_data}


def keyboard(rows: list[list[dict[str, Any]]]) -> dict[str, Any] | None:
    """Rows of `button`s as `tgbot.render.markup` gives the same buttons built as models."""
    return {"inline_keyboard": rows} if rows else None
