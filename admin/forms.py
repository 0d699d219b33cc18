"""What each of the panel's forms would have done, said when the form is refused for its security token (a page
left open from before the latest login, past its grace): the admin learns what was not saved and sends it again.
Keyed by the name of the form's route; a form not named here is said as «nothing was saved»."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from flows.i18n import _

UNSAVED = {
    "case-retry": _("The failed step of case #%(case_id)s was not retried."),
    "case-cancel": _("Case #%(case_id)s was not cancelled."),
    "task-reassign": _("The task of case #%(case_id)s was not handed to anyone else."),
    "notification-channels": _("The notification channels were not changed."),
    "notification-template": _("The notification text was not changed."),
    "notification-person": _("The person's addresses for notifications were not changed."),
    "notification-org": _("The organisation's addresses for notifications were not changed."),
    "organisation-save": _("The organisation was not changed."),
    "people-invite": _("No invite link was made."),
    "people-roles": _("The person's roles were not changed."),
    "people-revoke": _("The person's access was not taken away."),
    "people-restore": _("The person's access was not given back."),
    "process-upload": _("The definition was neither checked nor loaded."),
    "version-rollback": _("The process was not rolled back to that version."),
    "version-migrate": _("The running cases were not moved to another version."),
    "logout": _("You were not logged out."),
}
NOTHING = _("Nothing from the form was saved.")


def unsaved(request: web.Request) -> tuple[str, dict[str, Any]]:
    """The msgid saying what the refused form did not do, with its parameters (only ids a page already shows)."""
    message = UNSAVED.get(request.match_info.route.name or "", NOTHING)
    return message, {"case_id": request.match_info.get("case_id", "")}
