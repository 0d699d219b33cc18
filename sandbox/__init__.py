"""Local Telegram Bot API sandbox: fake server for the bot, user-side JSON API and a web chat page."""

from .server import SandboxServer, SandboxStats
from .state import SandboxState

__all__ = ["SandboxServer", "SandboxState", "SandboxStats"]
