"""People, their roles and invites.

`directory.py` the process-wide cache (`PeopleDirectory`: roles, role members, people's rows and the notification
settings, cleared at the commit of a change in every worker) and the session events that watch for changes;
`repository.py` people and roles read and written; `person_read.py` an update's person, roles and form in one
statement; `invites.py` invite links; `cache.py` people as one unit of work sees them (`PeopleCache`). The admin's
commands on them (invites, grants, the roster) are `services/team/`.
"""

from services.people.cache import PeopleCache
from services.people.directory import (
    CHANGED,
    CHANNEL,
    DIRECTORY,
    ROWS,
    ROWS_CHANGED,
    PeopleDirectory,
    cached_setting,
    directory_of,
)
from services.people.invites import InviteError, create_invite, picked_invite, use_invite
from services.people.person_read import (
    FormCase,
    FormTask,
    PersonRead,
    person_of_rows,
    person_query,
    user_and_roles,
)
from services.people.repository import (
    admins,
    grant,
    member_ids,
    members,
    register,
    revoke,
    roles_of,
    user_by_tg,
    user_for_update,
    users_by_ids,
)

__all__ = [
    "CHANGED",
    "CHANNEL",
    "DIRECTORY",
    "ROWS",
    "ROWS_CHANGED",
    "FormCase",
    "FormTask",
    "InviteError",
    "PeopleCache",
    "PeopleDirectory",
    "PersonRead",
    "admins",
    "cached_setting",
    "create_invite",
    "directory_of",
    "grant",
    "member_ids",
    "members",
    "person_of_rows",
    "person_query",
    "picked_invite",
    "register",
    "revoke",
    "roles_of",
    "use_invite",
    "user_and_roles",
    "user_by_tg",
    "user_for_update",
    "users_by_ids",
]
