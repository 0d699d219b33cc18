"""The team as an admin and a newcomer see it: invites, joining by one, granting and revoking roles, the roster.

Request-scoped: built per update with the update's session (`tgbot.middlewares`). The low-level reads and
writes of people, roles and invite rows stay in `services.people`.

`Team` (`service.py`) is the one entry point, put together from a module per concern: `base.py` what they all
stand on (the refusals an admin reads, roles as typed, a person found), `invites.py` invite links made and checked,
`joining.py` a /start answered and the people a general dealer link holds, `standing.py` access closed, restored or
refused (and a person who blocked the bot), `roster.py` the roster and a person's roles changed."""

from services.team.service import Team

__all__ = ["Team"]
