"""`Team`, the one entry point to the team's commands, put together from its parts (the package's docstring names
them). Here: /lang."""

from __future__ import annotations

from db.models import User
from services.team.joining import Joining
from services.team.roster import Roster


class Team(Joining, Roster):
    """The team's commands for one update, put together from their parts."""

    def switch_language(self, person: User) -> str:
        """/lang: Russian ↔ English."""
        person.language = "en" if person.language == "ru" else "ru"
        return person.language
